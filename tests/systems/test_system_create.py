from __future__ import annotations

from tests.factories import MembershipFactory
from toc.accounts.models import Role
from toc.systems.models import System


def _post(client, team, **overrides):
    data = {"team": team.pk, "name": "Churn model", "slug": "churn", "description": ""}
    data.update(overrides)
    return client.post("/systems/new/", data)


def test_editor_creates_a_system(personas) -> None:
    response = _post(personas.teammate, personas.team)
    system = System.objects.get(slug="churn")
    assert system.team == personas.team
    assert response.status_code == 302
    assert response["Location"] == "/systems/churn/stages/"


def test_slug_collision_is_a_field_error_and_keeps_typed_input(personas) -> None:
    response = _post(
        personas.teammate, personas.team, name="My typed name", slug="other"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "taken by another system" in form.errors["slug"][0]
    assert b'value="My typed name"' in response.content
    assert System.objects.filter(name="My typed name").count() == 0


def test_invalid_slug_is_rejected(personas) -> None:
    response = _post(personas.teammate, personas.team, slug="Not a key!")
    assert "slug" in response.context["form"].errors
    assert not System.objects.filter(name="Churn model").exists()


def test_cannot_create_in_a_team_one_only_views(personas) -> None:
    response = _post(personas.viewer, personas.team)
    assert response.status_code == 302
    assert response["Location"] == "/systems/"
    assert not System.objects.filter(slug="churn").exists()


def test_cannot_create_in_another_team_by_forging_the_team(personas) -> None:
    response = _post(personas.outsider, personas.team)
    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert not System.objects.filter(slug="churn").exists()


def test_team_choices_are_the_teams_one_can_write_to(db, client) -> None:
    editor = MembershipFactory(role=Role.EDITOR)
    MembershipFactory(user=editor.user, role=Role.VIEWER)
    client.force_login(editor.user)
    response = client.get("/systems/new/")
    assert list(response.context["form"].fields["team"].queryset) == [editor.team]


def test_viewer_is_not_offered_a_team_where_someone_else_edits(personas) -> None:
    response = personas.viewer.get("/systems/new/")
    assert response.status_code == 302
