"""A team's invitations through the API, with the team page's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.api.clients import api_clients, send
from tests.factories import InvitationFactory
from toc.accounts.models import Invitation, Membership, Role


@pytest.fixture
def api(personas):
    return api_clients(personas)


@pytest.fixture
def invitations(personas) -> str:
    return f"/api/v1/teams/{personas.team.slug}/invitations/"


@pytest.fixture
def invitation(personas) -> Invitation:
    return InvitationFactory(team=personas.team)


def _invite(client: Client, path: str, **body):
    return send(client, "post", path, {"email": "dana@example.com", **body})


def test_an_admin_invites_and_gets_the_link_once(api, invitations) -> None:
    response = _invite(api.admin, invitations, role="editor")
    assert response.status_code == 201
    body = response.json()
    assert "no-store" in response["Cache-Control"]
    assert (body["email"], body["role"], body["state"]) == (
        "dana@example.com",
        "editor",
        "pending",
    )
    assert body["url"].startswith("http://testserver/invitations/tocinv_")
    [message] = mail.outbox
    assert body["url"] in message.body
    listed = api.admin.get(invitations).json()["results"]
    assert [one["id"] for one in listed] == [body["id"]]
    assert "url" not in listed[0]
    # The link works: it joins the team with the role.
    path = body["url"].removeprefix("http://testserver")
    visitor = Client()
    visitor.post(
        path, {"username": "dana", "password1": "a-horse-1", "password2": "a-horse-1"}
    )
    assert Membership.objects.get(user__username="dana").role == Role.EDITOR
    assert api.admin.get(invitations).json()["results"][0]["state"] == "accepted"


def test_the_role_is_viewer_unless_given(api, invitations) -> None:
    assert _invite(api.admin, invitations).json()["role"] == "viewer"


def test_invalid_invitations_name_the_field(api, invitations) -> None:
    bad = _invite(api.admin, invitations, email="nope", role="owner")
    assert bad.status_code == 400
    fields = {error["field"] for error in bad.json()["errors"]}
    assert fields == {"email", "role"}
    unknown = _invite(api.admin, invitations, team="other")
    assert unknown.status_code == 400
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_editors_and_viewers_cannot_invite_list_or_revoke(
    api, invitations, invitation, who
) -> None:
    client = getattr(api, who)
    assert _invite(client, invitations).status_code == 403
    assert client.get(invitations).status_code == 403
    revoke = send(client, "delete", f"{invitations}{invitation.pk}/")
    assert revoke.status_code == 403
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().revoked_at is None


def test_another_teams_admin_cannot_see_list_invite_or_revoke(
    api, personas, invitations, invitation
) -> None:
    assert api.outsider.get(invitations).status_code == 404
    assert _invite(api.outsider, invitations).status_code == 404
    assert (
        send(api.outsider, "delete", f"{invitations}{invitation.pk}/").status_code
        == 404
    )
    own = Membership.objects.exclude(team=personas.team).get().team
    theirs = f"/api/v1/teams/{own.slug}/invitations/"
    assert api.outsider.get(theirs).json()["results"] == []
    assert send(api.outsider, "delete", f"{theirs}{invitation.pk}/").status_code == 404
    assert Invitation.objects.get().revoked_at is None


def test_anonymous_requests_are_refused(api, invitations) -> None:
    assert api.anonymous.get(invitations).status_code == 401


def test_revoking_stops_the_link(api, invitations, invitation) -> None:
    response = send(api.admin, "delete", f"{invitations}{invitation.pk}/")
    assert response.status_code == 204
    assert Client().get(invitation.path).status_code == 410
    again = send(api.admin, "delete", f"{invitations}{invitation.pk}/")
    assert again.status_code == 410
    assert again.json()["errors"][0]["message"] == (
        "This invitation was already revoked."
    )


def test_a_used_invitation_cannot_be_revoked(api, invitations, invitation) -> None:
    Client().post(
        invitation.path,
        {"username": "dana", "password1": "a-horse-1", "password2": "a-horse-1"},
    )
    response = send(api.admin, "delete", f"{invitations}{invitation.pk}/")
    assert response.status_code == 410
    assert "remove the member" in response.json()["errors"][0]["message"]
    assert Membership.objects.filter(user__username="dana").exists()


def test_an_expired_invitation_is_listed_as_such_and_can_be_revoked(
    api, personas, invitations
) -> None:
    expired = InvitationFactory(
        team=personas.team, expires=timezone.now() - timedelta(seconds=1)
    )
    assert api.admin.get(invitations).json()["results"][0]["state"] == "expired"
    response = send(api.admin, "delete", f"{invitations}{expired.pk}/")
    assert response.status_code == 204


@pytest.mark.parametrize("email", ["\x00", "dana\x00@example.com", "\ud800"])
def test_unstorable_emails_are_a_400(api, invitations, email) -> None:
    # The fuzzers send as an editor, who gets a 403 before the body is read.
    response = _invite(api.admin, invitations, email=email)
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_a_long_email_is_a_400_naming_the_field(api, invitations) -> None:
    response = _invite(api.admin, invitations, email="a" * 250 + "@example.com")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"email"}


def test_a_huge_invitation_id_is_a_404(api, invitations) -> None:
    response = send(api.admin, "delete", f"{invitations}{10**30}/")
    assert response.status_code == 404
