"""Teams created at once under one slug, and admins who demote each other."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.races.conftest import (
    AT_ONCE,
    at_once,
    browser_of,
    meet_after,
    signed_in,
    statuses,
)
from toc.accounts.forms import MemberAddForm, TeamForm
from toc.accounts.models import Membership, Role, Team

pytestmark = pytest.mark.django_db(transaction=True)

# Teams of two admins each, raced in parallel so that one run tries it often.
TEAMS = AT_ONCE // 2
# Refused with a message (302), or, if the other's change came first, no
# longer an admin (403) or a member (404).
ALLOWED = {302, 403, 404}


def test_one_team_slug_sent_at_once_makes_one_team_and_field_errors(
    monkeypatch,
) -> None:
    meet_after(monkeypatch, TeamForm, "full_clean", AT_ONCE)
    # People of their own: each becomes the admin of the team they create.
    browsers = [
        signed_in(MembershipFactory(role=Role.VIEWER).user) for _ in range(AT_ONCE)
    ]
    body = {"name": "Fraud ops", "slug": "fraud-ops"}
    responses = at_once([lambda b=b: b.post("/teams/new/", body) for b in browsers])
    assert statuses(responses) == [200] * (AT_ONCE - 1) + [302]
    team = Team.objects.get(slug="fraud-ops")
    assert list(team.memberships.values_list("role", flat=True)) == [Role.ADMIN]
    for page in (r for r in responses if r.status_code == 200):
        form = page.context["form"]
        assert form.errors["slug"] == [
            "This slug is taken by another team; choose another."
        ]
        assert form["name"].value() == "Fraud ops"


def test_one_person_added_at_once_to_a_team_is_one_member(
    personas, monkeypatch
) -> None:
    UserFactory(username="newcomer")
    meet_after(monkeypatch, MemberAddForm, "full_clean", AT_ONCE)
    tabs = [browser_of(personas.owner) for _ in range(AT_ONCE)]
    url = f"/teams/{personas.team.slug}/members/add/"
    body = {"username": "newcomer", "role": "editor"}
    responses = at_once([lambda tab=tab: tab.post(url, body) for tab in tabs])
    assert statuses(responses) == [200] * (AT_ONCE - 1) + [302]
    for page in (r for r in responses if r.status_code == 200):
        assert "already in this team" in page.context["add_form"].errors["username"][0]
    assert personas.team.memberships.filter(user__username="newcomer").count() == 1


def _teams_of_two_admins() -> list[tuple[Team, Membership, Membership]]:
    teams = []
    for _ in range(TEAMS):
        team = TeamFactory()
        first = MembershipFactory(team=team, role=Role.ADMIN)
        second = MembershipFactory(team=team, role=Role.ADMIN)
        teams.append((team, first, second))
    return teams


def _each_other(change) -> list:
    """Each admin of each team changes the other's membership, all at once."""
    requests = []
    for team, first, second in _teams_of_two_admins():
        for actor, other in [(first, second), (second, first)]:
            browser = signed_in(actor.user)
            url = f"/teams/{team.slug}/members/{other.pk}/"
            requests.append(lambda b=browser, url=url: change(b, url))
    return at_once(requests)


def _teams_without_an_admin() -> list[str]:
    return [
        team.slug
        for team in Team.objects.all()
        if not team.memberships.filter(role=Role.ADMIN).exists()
    ]


def test_two_admins_demoting_each_other_at_once_leave_one_admin() -> None:
    responses = _each_other(lambda b, url: b.post(f"{url}role/", {"role": "viewer"}))
    assert set(statuses(responses)) <= ALLOWED, statuses(responses)
    assert _teams_without_an_admin() == []
    assert Membership.objects.filter(role=Role.ADMIN).count() == TEAMS


def test_two_admins_removing_each_other_at_once_leave_one_admin() -> None:
    responses = _each_other(lambda b, url: b.post(f"{url}remove/"))
    assert set(statuses(responses)) <= ALLOWED, statuses(responses)
    assert _teams_without_an_admin() == []
    assert Membership.objects.filter(role=Role.ADMIN).count() == TEAMS
