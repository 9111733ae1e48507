from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from toc.accounts.forms import MemberAddForm
from toc.accounts.models import Membership, Role, Team
from toc.lib import unique


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
