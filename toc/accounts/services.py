from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from toc.accounts.forms import InvitationForm, JoinForm, MemberAddForm
from toc.accounts.models import (
    Invitation,
    InvitationState,
    Membership,
    Role,
    Team,
)
from toc.lib import unique

logger = logging.getLogger(__name__)


class LastAdmin(Exception):
    """The change would leave the team without an admin."""

    def __init__(self) -> None:
        super().__init__("A team needs at least one admin; promote someone first.")


@transaction.atomic
def team_create(*, name: str, slug: str, admin) -> Team:
    """A new team, with `admin` (a user) as its first admin."""
    team = Team.objects.create(name=name, slug=slug)
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    return team


def member_add(form: MemberAddForm) -> Membership | None:
    """The membership a valid add form asks for; None, with the form's error,
    when the person is not valid to add or was added meanwhile."""
    return unique.saved(
        form,
        lambda: Membership.objects.create(
            team=form.team,
            user=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
        ),
    )


def is_last_admin(membership: Membership) -> bool:
    """Whether `membership` is its team's only admin, as read now (a change
    checks again, under lock)."""
    others = _admins(membership.team_id).exclude(pk=membership.pk)
    return membership.role == Role.ADMIN and not others.exists()


@transaction.atomic
def member_role_set(membership: Membership, role: Role | str) -> None:
    """Gives the member `role`; raises LastAdmin if that demotes the last admin."""
    if role != Role.ADMIN:
        _refuse_last_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def member_remove(membership: Membership) -> None:
    """Takes the member out of the team; raises LastAdmin for the last admin."""
    _refuse_last_admin(membership)
    membership.delete()


def _admins(team_id: int) -> QuerySet[Membership]:
    # Without the default ordering's join with the users.
    return Membership.objects.filter(team_id=team_id, role=Role.ADMIN).order_by("pk")


def _refuse_last_admin(membership: Membership) -> None:
    # Locking the team's admins makes two admins who demote (or remove) each
    # other at once take turns: the second sees the first's change, and is
    # refused. The changed membership is locked with them, and all in pk
    # order, the order in which every change to a team's members locks them,
    # so that two changes wait for each other rather than deadlock.
    locked = (
        Membership.objects.filter(
            Q(role=Role.ADMIN) | Q(pk=membership.pk), team_id=membership.team_id
        )
        .order_by("pk")
        .select_for_update()
        .values_list("pk", "role")
    )
    admins = [pk for pk, role in locked if role == Role.ADMIN]
    if admins == [membership.pk]:
        raise LastAdmin()


class InvitationGone(Exception):
    """The invitation was used, revoked or has expired: `state` says which."""

    def __init__(self, invitation: Invitation) -> None:
        self.invitation = invitation
        self.state = invitation.state
        super().__init__(f"This invitation is {self.state.label.lower()}.")


class AlreadyMember(Exception):
    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        super().__init__(
            f"You are already in {membership.team.name} as "
            f"{membership.get_role_display().lower()}."
        )


def invitation_create(form: InvitationForm, *, created_by) -> tuple[Invitation, str]:
    """The invitation a valid form asks for, with its secret (shown once)."""
    return Invitation.issue(
        team=form.team,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        created_by=created_by,
    )


def invitation_mail(invitation: Invitation, url: str) -> None:
    """Mails the link to the invitee. A mail that cannot be sent is logged: the
    admin has the link on the page and can pass it on."""
    context = {"invitation": invitation, "url": url}
    message = EmailMessage(
        subject=f"Join {invitation.team.name} on toc",
        body=render_to_string("accounts/invitation_email.txt", context),
        to=[invitation.email],
    )
    try:
        message.send()
    except OSError:
        logger.exception("invitation %s: the mail could not be sent", invitation.pk)


def _locked_invitation(invitation_pk: int) -> Invitation:
    # Only the invitation's row: the team stays free for its other changes.
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("team")
        .get(pk=invitation_pk)
    )


@transaction.atomic
def invitation_revoke(invitation: Invitation) -> None:
    """Revokes a pending (or expired) invitation; raises InvitationGone for
    one already used or revoked, meanwhile too."""
    locked = _locked_invitation(invitation.pk)
    if locked.state in (InvitationState.ACCEPTED, InvitationState.REVOKED):
        raise InvitationGone(locked)
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])


@transaction.atomic
def invitation_accept(
    invitation: Invitation, user=None, *, join_form: JoinForm | None = None
) -> Membership | None:
    """Puts `user`, or the account `join_form` makes, in the invitation's team
    with its role, and marks the invitation used.

    The invitation's row is locked first, so that of two accepts at once the
    second sees it used. Raises InvitationGone when it is not pending,
    AlreadyMember when the user is in the team (the invitation stays pending);
    None, with the form's errors, when the new account is not valid.
    """
    locked = _locked_invitation(invitation.pk)
    if locked.state != InvitationState.PENDING:
        raise InvitationGone(locked)
    if join_form is not None:
        user = unique.saved(join_form, lambda: _account_for(join_form, locked))
        if user is None:
            return None
    member = locked.team.memberships.filter(user=user).first()
    if member is not None:
        raise AlreadyMember(member)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                team=locked.team, user=user, role=locked.role
            )
    except IntegrityError:  # added by another invitation or an admin meanwhile
        raise AlreadyMember(locked.team.memberships.get(user=user)) from None
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _account_for(form: JoinForm, invitation: Invitation):
    user = form.save(commit=False)
    user.email = invitation.email
    user.save()
    return user
