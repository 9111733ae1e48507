"""A team's members and roles through the API, with the team page's rules."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.api.clients import api_clients, send, user_of
from tests.factories import (
    ApiTokenFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)
from tests.races.conftest import AT_ONCE, api_client, at_once, signed_in, statuses
from toc.accounts.models import Membership, Role


@pytest.fixture
def api(personas):
    return api_clients(personas)


@pytest.fixture
def members(personas) -> str:
    return f"/api/v1/teams/{personas.team.slug}/members/"


def _name(personas, role: Role) -> str:
    return user_of(personas, role).username


def test_members_read_the_team_by_username(api, personas, members):
    response = api.viewer.get(members)
    assert response.status_code == 200
    listed = response.json()["results"]
    assert listed == sorted(listed, key=lambda m: m["username"])
    assert sorted(m["role"] for m in listed) == ["admin", "editor", "viewer"]
    one = api.viewer.get(f"{members}{_name(personas, Role.EDITOR)}/")
    assert one.json() == {"username": _name(personas, Role.EDITOR), "role": "editor"}
    assert one["ETag"].startswith('"')


def test_a_team_is_read_with_its_etag_which_changes_with_its_members(
    api, personas, members
):
    url = f"/api/v1/teams/{personas.team.slug}/"
    before = api.viewer.get(url)
    assert before.json()["role"] == "viewer"
    send(api.admin, "post", members, {"username": UserFactory().username})
    after = api.viewer.get(url)
    assert len(after.json()["members"]) == 4
    assert before["ETag"].startswith('"')
    assert after["ETag"] != before["ETag"]
    assert api.outsider.get(url).json()["errors"][0]["message"] == "No such team."


def test_another_teams_members_are_404s(api, personas, members):
    assert api.outsider.get(members).status_code == 404
    name = _name(personas, Role.VIEWER)
    assert api.outsider.get(f"{members}{name}/").status_code == 404
    assert api.outsider.delete(f"{members}{name}/").status_code == 404
    assert api.viewer.get(f"{members}{_name(personas, None)}/").status_code == 404


def test_an_admin_adds_a_person_as_a_viewer_unless_told(api, personas, members):
    newcomer = UserFactory()
    response = send(api.admin, "post", members, {"username": newcomer.username})
    assert response.status_code == 201
    assert response.json() == {"username": newcomer.username, "role": "viewer"}
    assert response["Location"].endswith(f"{members}{newcomer.username}/")
    assert Membership.objects.get(team=personas.team, user=newcomer).role == "viewer"
    other = UserFactory()
    response = send(
        api.admin, "post", members, {"username": other.username, "role": "editor"}
    )
    assert response.json()["role"] == "editor"


def test_adding_is_checked_like_the_page(api, personas, members):
    response = send(api.admin, "post", members, {"username": "nobody-here"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "username", "message": "There is no user “nobody-here”."}
    ]
    taken = _name(personas, Role.VIEWER)
    response = send(api.admin, "post", members, {"username": taken, "role": "admin"})
    assert (
        response.json()["errors"][0]["message"] == f"{taken} is already in this team."
    )
    assert Membership.objects.get(team=personas.team, user__username=taken).role == (
        "viewer"
    )
    response = send(api.admin, "post", members, {"username": taken, "role": "owner"})
    assert {e["field"] for e in response.json()["errors"]} == {"username", "role"}


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_admins_change_the_team(api, personas, members, role):
    client = api.editor if role == Role.EDITOR else api.viewer
    name = _name(personas, Role.VIEWER)
    assert (
        send(client, "post", members, {"username": UserFactory().username}).status_code
        == 403
    )
    assert (
        send(client, "patch", f"{members}{name}/", {"role": "admin"}).status_code == 403
    )
    assert client.delete(f"{members}{name}/").status_code == 403
    assert Membership.objects.filter(team=personas.team).count() == 3


def test_an_admin_changes_a_role_and_the_etag_changes(api, personas, members):
    url = f"{members}{_name(personas, Role.VIEWER)}/"
    before = api.admin.get(url)["ETag"]
    response = send(api.admin, "patch", url, {"role": "editor"}, If_Match=before)
    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    assert response["ETag"] != before
    assert Membership.objects.filter(team=personas.team, role="editor").count() == 2


def test_a_stale_if_match_is_a_412_and_changes_nothing(api, personas, members):
    viewer = user_of(personas, Role.VIEWER)
    url = f"{members}{viewer.username}/"
    stale = api.admin.get(url)["ETag"]
    send(api.admin, "patch", url, {"role": "editor"})
    for method in ("patch", "delete"):
        response = send(api.admin, method, url, {"role": "admin"}, If_Match=stale)
        assert response.status_code == 412
    assert Membership.objects.get(team=personas.team, user=viewer).role == "editor"


def test_an_admin_removes_a_member_who_then_loses_access(api, personas, members):
    name = _name(personas, Role.EDITOR)
    assert api.admin.delete(f"{members}{name}/").status_code == 204
    assert not Membership.objects.filter(team=personas.team, user__username=name)
    assert api.editor.get("/api/v1/systems/fraud/").status_code == 404
    assert api.admin.delete(f"{members}{name}/").status_code == 404


def test_the_last_admin_can_be_neither_demoted_nor_removed(api, personas, members):
    url = f"{members}{_name(personas, Role.ADMIN)}/"
    for response in (
        send(api.admin, "patch", url, {"role": "editor"}),
        api.admin.delete(url),
    ):
        assert response.status_code == 409
        assert response.json()["errors"] == [
            {
                "field": None,
                "message": "A team needs at least one admin; promote someone first.",
            }
        ]
    assert Membership.objects.get(team=personas.team, role="admin")
    # With a second admin, the first may step down.
    MembershipFactory(team=personas.team, role=Role.ADMIN)
    assert send(api.admin, "patch", url, {"role": "editor"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_admins_demoting_each_other_at_once_through_the_api_and_the_page():
    """Each team's two admins demote each other at once, one with a token and
    one from the team page: one is refused, no team is left without an admin,
    and the API's lock of the team's members never deadlocks with the page's."""
    if connection.vendor != "postgresql":
        pytest.skip("Races need PostgreSQL: SQLite lets one writer in at a time.")
    requests, teams = [], []
    for _ in range(AT_ONCE // 2):
        team = TeamFactory()
        first = MembershipFactory(team=team, role=Role.ADMIN)
        second = MembershipFactory(team=team, role=Role.ADMIN)
        MembershipFactory(team=team, role=Role.VIEWER)
        teams.append(team)
        script = api_client(ApiTokenFactory(user=first.user).plaintext)
        url = f"/api/v1/teams/{team.slug}/members/{second.user.username}/"
        requests.append(lambda s=script, u=url: send(s, "patch", u, {"role": "viewer"}))
        page = signed_in(second.user)
        url = f"/teams/{team.slug}/members/{first.pk}/role/"
        requests.append(lambda p=page, u=url: p.post(u, {"role": "viewer"}))
    responses = at_once(requests)
    assert all(r.status_code < 500 for r in responses), statuses(responses)
    for team in teams:
        assert team.memberships.filter(role=Role.ADMIN).count() == 1
