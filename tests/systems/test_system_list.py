from __future__ import annotations

from tests.factories import MembershipFactory
from toc.accounts.models import Role


def test_member_sees_own_team_systems_only(personas) -> None:
    response = personas.viewer.get("/systems/")
    assert response.status_code == 200
    assert b"Fraud scoring" in response.content
    assert b"Other team" not in response.content


def test_outsider_does_not_see_the_team_system(personas) -> None:
    response = personas.outsider.get("/systems/")
    assert b"Fraud scoring" not in response.content
    assert b"Other team&#x27;s system" in response.content


def test_viewer_is_not_offered_new_system(personas) -> None:
    response = personas.viewer.get("/systems/")
    assert b'href="/systems/new/"' not in response.content


def test_empty_state_for_user_without_systems(db, client) -> None:
    membership = MembershipFactory(role=Role.EDITOR)
    client.force_login(membership.user)
    response = client.get("/systems/")
    assert b"No systems yet" in response.content
    assert b"Describe your first system" in response.content


def test_anonymous_is_sent_to_login(db, client) -> None:
    response = client.get("/systems/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/systems/")


def test_home_redirects_to_systems(personas) -> None:
    response = personas.owner.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/systems/"


def test_list_counts_the_stages(personas) -> None:
    response = personas.viewer.get("/systems/")
    system = next(s for s in response.context["systems"] if s.slug == "fraud")
    assert system.stage_count == 3
