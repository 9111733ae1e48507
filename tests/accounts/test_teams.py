from __future__ import annotations

from tests.factories import MembershipFactory, UserFactory
from toc.accounts.models import Membership, Role, Team


def test_team_list_shows_only_own_teams_with_role(personas) -> None:
    response = personas.viewer.get("/teams/")
    assert personas.team.name.encode() in response.content
    assert b"Viewer" in response.content
    other = Team.objects.exclude(pk=personas.team.pk).get()
    assert other.name.encode() not in response.content


def test_empty_state_without_teams(db, client) -> None:
    client.force_login(UserFactory())
    response = client.get("/teams/")
    assert b"You are not in a team yet" in response.content


def test_creating_a_team_makes_you_its_admin(db, client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post("/teams/new/", {"name": "Risk ML", "slug": "risk-ml"})
    assert response.status_code == 302
    membership = Membership.objects.get(team__slug="risk-ml")
    assert (membership.user, membership.role) == (user, Role.ADMIN)


def test_team_slug_collision_keeps_input(personas) -> None:
    response = personas.owner.post(
        "/teams/new/", {"name": "Typed name", "slug": personas.team.slug}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == [
        "This slug is taken by another team; choose another."
    ]
    assert b'value="Typed name"' in response.content


def test_outsider_gets_404_on_the_team_page(personas) -> None:
    assert personas.outsider.get(f"/teams/{personas.team.slug}/").status_code == 404


def test_viewer_sees_members_but_no_controls(personas) -> None:
    response = personas.viewer.get(f"/teams/{personas.team.slug}/")
    assert response.status_code == 200
    assert b"Add a member" not in response.content


def test_admin_adds_a_member(personas) -> None:
    newcomer = UserFactory(username="newcomer")
    response = personas.owner.post(
        f"/teams/{personas.team.slug}/members/add/",
        {"username": "newcomer", "role": "editor"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=newcomer).role == Role.EDITOR


def test_adding_an_unknown_user_is_a_field_error(personas) -> None:
    response = personas.owner.post(
        f"/teams/{personas.team.slug}/members/add/",
        {"username": "ghost", "role": "editor"},
    )
    assert response.status_code == 200
    assert b"There is no user" in response.content
    assert b'value="ghost"' in response.content


def test_editor_cannot_add_members(personas) -> None:
    UserFactory(username="newcomer")
    response = personas.teammate.post(
        f"/teams/{personas.team.slug}/members/add/",
        {"username": "newcomer", "role": "admin"},
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user__username="newcomer").exists()


def test_editor_cannot_raise_own_role(personas) -> None:
    membership = Membership.objects.get(team=personas.team, role=Role.EDITOR)
    response = personas.teammate.post(
        f"/teams/{personas.team.slug}/members/{membership.pk}/role/", {"role": "admin"}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.EDITOR


def test_admin_changes_a_role(personas) -> None:
    membership = Membership.objects.get(team=personas.team, role=Role.VIEWER)
    personas.owner.post(
        f"/teams/{personas.team.slug}/members/{membership.pk}/role/", {"role": "editor"}
    )
    membership.refresh_from_db()
    assert membership.role == Role.EDITOR


def test_the_last_admin_cannot_step_down(personas) -> None:
    admin = Membership.objects.get(team=personas.team, role=Role.ADMIN)
    response = personas.owner.post(
        f"/teams/{personas.team.slug}/members/{admin.pk}/role/",
        {"role": "viewer"},
        follow=True,
    )
    assert b"needs at least one admin" in response.content
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_admin_cannot_touch_another_teams_membership(personas) -> None:
    foreign = MembershipFactory(role=Role.VIEWER)
    personas.owner.post(
        f"/teams/{personas.team.slug}/members/{foreign.pk}/role/", {"role": "admin"}
    )
    foreign.refresh_from_db()
    assert foreign.role == Role.VIEWER


def test_removing_a_member_asks_first_and_cuts_access(personas) -> None:
    viewer = Membership.objects.get(team=personas.team, role=Role.VIEWER)
    url = f"/teams/{personas.team.slug}/members/{viewer.pk}/remove/"
    assert b"Remove" in personas.owner.get(url).content
    assert Membership.objects.filter(pk=viewer.pk).exists()

    personas.owner.post(url)
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert personas.viewer.get("/systems/fraud/").status_code == 404
