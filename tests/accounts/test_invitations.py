"""Inviting someone to a team by a one-time link, on the team page, and joining
by it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from tests.factories import InvitationFactory, MembershipFactory, UserFactory
from toc.accounts.models import Invitation, Membership, Role

PASSWORD = "a-long-horse-battery"
LINK = re.compile(r"http://testserver(/invitations/tocinv_\w+/)")


@pytest.fixture
def team_page(personas) -> str:
    return f"/teams/{personas.team.slug}/"


@pytest.fixture
def invitation(personas) -> Invitation:
    return InvitationFactory(team=personas.team, role=Role.EDITOR)


def _invite(client: Client, team_page: str, **data: str):
    return client.post(
        f"{team_page}invitations/",
        {"email": "dana@example.com", "role": "editor", **data},
    )


def _join(client: Client, path: str, username: str = "dana"):
    return client.post(
        path, {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_an_admin_invites_and_sees_the_link_once(personas, team_page) -> None:
    response = _invite(personas.owner, team_page)
    assert response.status_code == 302 and response.url == team_page
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.email, invitation.role) == (
        personas.team,
        "dana@example.com",
        Role.EDITOR,
    )
    assert invitation.expires - timezone.now() > timedelta(days=6, hours=23)
    page = personas.owner.get(team_page)
    path = LINK.search(page.text).group(1)
    assert "no-store" in page["Cache-Control"]
    assert f'readonly value="http://testserver{path}"' in page.text
    assert "dana@example.com" in page.text  # as pending, with its revoke link
    assert path not in personas.owner.get(team_page).text
    # Only a digest of the link's secret is stored.
    secret = path.split("/")[2]
    assert secret not in (invitation.digest, invitation.token_key)
    assert Invitation.find(secret) == invitation


def test_the_link_is_mailed_to_the_invitee(personas, team_page) -> None:
    _invite(personas.owner, team_page)
    [message] = mail.outbox
    assert message.to == ["dana@example.com"]
    assert personas.team.name in message.subject
    assert LINK.search(message.body)
    assert "editor" in message.body


@override_settings(INVITATION_DAYS=2)
def test_the_link_works_for_the_configured_days(personas, team_page) -> None:
    _invite(personas.owner, team_page)
    left = Invitation.objects.get().expires - timezone.now()
    assert timedelta(days=1, hours=23) < left <= timedelta(days=2)


def test_an_invalid_invitation_keeps_what_was_typed(personas, team_page) -> None:
    response = _invite(personas.owner, team_page, email="dana@", role="editor")
    assert response.status_code == 200
    assert response.context["invite_form"].errors["email"]
    assert 'value="dana@"' in response.text
    assert not Invitation.objects.exists()


def test_inviting_a_member_by_their_email_says_they_are_in(personas, team_page) -> None:
    member = Membership.objects.get(team=personas.team, role=Role.VIEWER).user
    member.email = "vic@example.com"
    member.save()
    response = _invite(personas.owner, team_page, email="VIC@example.com")
    assert response.context["invite_form"].errors["email"] == [
        f"VIC@example.com is already in this team as {member.username}."
    ]


@pytest.mark.parametrize("who", ["teammate", "viewer"])
def test_editors_and_viewers_cannot_invite_nor_see_invitations(
    personas, team_page, invitation, who
) -> None:
    client = getattr(personas, who)
    assert _invite(client, team_page).status_code == 403
    page = client.get(team_page)
    assert "Invite someone" not in page.text
    assert invitation.email not in page.text
    revoke = f"{team_page}invitations/{invitation.pk}/revoke/"
    assert client.post(revoke).status_code == 403
    assert Invitation.objects.get().revoked_at is None


def test_another_teams_admin_cannot_invite_see_or_revoke(
    personas, team_page, invitation
) -> None:
    assert _invite(personas.outsider, team_page).status_code == 404
    revoke = f"{team_page}invitations/{invitation.pk}/revoke/"
    assert personas.outsider.get(revoke).status_code == 404
    assert personas.outsider.post(revoke).status_code == 404
    # Through their own team's address neither.
    own = Membership.objects.exclude(team=personas.team).get().team
    revoke_own = f"/teams/{own.slug}/invitations/{invitation.pk}/revoke/"
    assert personas.outsider.post(revoke_own).status_code == 404
    assert Invitation.objects.get().revoked_at is None


def test_revoking_asks_first_then_the_link_says_revoked(
    personas, team_page, invitation
) -> None:
    revoke = f"{team_page}invitations/{invitation.pk}/revoke/"
    asked = personas.owner.get(revoke)
    assert "Revoke the invitation to" in asked.text
    assert Invitation.objects.get().revoked_at is None
    assert personas.owner.post(revoke).status_code == 302
    after = personas.owner.get(team_page)
    assert f"Revoked the invitation to {invitation.email}." in after.text
    assert list(after.context["invitations"]) == []
    gone = Client().get(invitation.path)
    assert gone.status_code == 410
    assert "This invitation was revoked" in gone.text
    assert _join(Client(), invitation.path).status_code == 410
    assert not get_user_model().objects.filter(username="dana").exists()


def test_a_visitor_makes_an_account_and_lands_in_the_team(personas, invitation) -> None:
    visitor = Client()
    offer = visitor.get(invitation.path)
    assert offer.status_code == 200
    assert "no-store" in offer["Cache-Control"]
    assert "as an editor" in offer.text
    assert f"/accounts/login/?next=/invitations/{invitation.plaintext}/" in (
        offer.text.replace("%2F", "/")
    )
    response = _join(visitor, invitation.path)
    assert response.status_code == 302
    assert response.url == f"/teams/{personas.team.slug}/"
    dana = get_user_model().objects.get(username="dana")
    assert dana.email == invitation.email
    assert dana.check_password(PASSWORD)
    assert Membership.objects.get(user=dana).role == Role.EDITOR
    landed = visitor.get(response.url)
    assert "Welcome to" in landed.text and "you are an editor" in landed.text
    invitation.refresh_from_db()
    assert invitation.accepted_by == dana and invitation.accepted_at is not None


def test_an_invalid_account_keeps_the_name_and_the_link(personas, invitation):
    visitor = Client()
    response = visitor.post(
        invitation.path,
        {"username": "dana", "password1": "short", "password2": "other"},
    )
    assert response.status_code == 200
    assert response.context["join_form"].errors["password2"]
    assert 'value="dana"' in response.text
    assert Invitation.objects.get().state == "pending"
    assert not get_user_model().objects.filter(username="dana").exists()


def test_a_taken_user_name_is_a_field_error(personas, invitation) -> None:
    UserFactory(username="dana")
    response = _join(Client(), invitation.path)
    assert response.context["join_form"].errors["username"]
    assert Invitation.objects.get().state == "pending"


def test_a_signed_in_person_joins_with_one_button(personas, invitation) -> None:
    user = UserFactory(username="erin")
    client = Client()
    client.force_login(user)
    offer = client.get(invitation.path)
    assert "Join " + personas.team.name + " as editor" in offer.text
    assert "password1" not in offer.text
    response = client.post(invitation.path)
    assert response.url == f"/teams/{personas.team.slug}/"
    assert Membership.objects.get(user=user).role == Role.EDITOR


def test_logging_in_from_the_invitation_comes_back_to_it(personas, invitation):
    UserFactory(username="erin")
    client = Client()
    response = client.post(
        "/accounts/login/",
        {"username": "erin", "password": "password", "next": invitation.path},
    )
    assert response.url == invitation.path


def test_a_member_is_told_so_and_the_invitation_stays(personas, invitation):
    personas.viewer.get(invitation.path)
    page = personas.viewer.get(invitation.path)
    assert "You are already in" in page.text
    response = personas.viewer.post(invitation.path)
    assert response.status_code == 200
    assert "You are already in" in response.text
    assert Membership.objects.filter(team=personas.team).count() == 3
    viewer = Membership.objects.get(team=personas.team, role=Role.VIEWER)
    assert viewer.role == Role.VIEWER
    assert Invitation.objects.get().state == "pending"


def test_the_link_works_once(personas, invitation) -> None:
    _join(Client(), invitation.path)
    again = Client()
    again.force_login(UserFactory(username="erin"))
    used = again.get(invitation.path)
    assert used.status_code == 410
    assert "This invitation was already used" in used.text
    assert again.post(invitation.path).status_code == 410
    assert not Membership.objects.filter(user__username="erin").exists()


def test_an_expired_link_says_so(personas) -> None:
    invitation = InvitationFactory(
        team=personas.team, expires=timezone.now() - timedelta(minutes=1)
    )
    page = Client().get(invitation.path)
    assert page.status_code == 410
    assert "This invitation has expired" in page.text
    assert "invite you again" in page.text
    assert _join(Client(), invitation.path).status_code == 410
    assert not Membership.objects.filter(user__username="dana").exists()


def test_an_unknown_or_altered_link_is_not_found(personas, invitation) -> None:
    altered = invitation.plaintext[:-1] + (
        "0" if invitation.plaintext[-1] != "0" else "1"
    )
    assert Client().get(f"/invitations/{altered}/").status_code == 404
    assert _join(Client(), f"/invitations/{altered}/").status_code == 404
    assert Client().get("/invitations/tocinv_x/").status_code == 404


def test_an_invitation_of_one_team_joins_only_that_team(personas) -> None:
    other = MembershipFactory(role=Role.ADMIN).team
    invitation = InvitationFactory(team=other)
    _join(Client(), invitation.path)
    dana = get_user_model().objects.get(username="dana")
    assert list(
        Membership.objects.filter(user=dana).values_list("team", flat=True)
    ) == [other.pk]


@override_settings(RATE_LIMITS={"invitation-accept-address": "2/3600"})
def test_accepting_is_rate_limited_per_address(personas, invitation) -> None:
    visitor = Client()
    bad = {"username": "dana", "password1": "x", "password2": "y"}
    assert visitor.post(invitation.path, bad).status_code == 200
    assert visitor.post(invitation.path, bad).status_code == 200
    limited = _join(visitor, invitation.path)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "Too many tries to join from this address. Try again in" in limited.text
    assert 'value="dana"' in limited.text
    assert not get_user_model().objects.filter(username="dana").exists()
