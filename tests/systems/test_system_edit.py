from __future__ import annotations

from toc.systems.models import System


def test_editor_renames_the_system(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/edit/", {"name": "Fraud scoring v2", "description": "New"}
    )
    assert response.status_code == 302
    system = System.objects.get(slug="fraud")
    assert (system.name, system.description) == ("Fraud scoring v2", "New")


def test_edit_cannot_move_system_to_another_team_or_change_key(personas) -> None:
    other_team = System.objects.get(slug="other").team
    personas.owner.post(
        "/systems/fraud/edit/",
        {"name": "Fraud", "team": other_team.pk, "slug": "moved"},
    )
    system = System.objects.get(pk=personas.system.pk)
    assert system.team == personas.team
    assert system.slug == "fraud"


def test_empty_name_keeps_other_input(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/edit/", {"name": "", "description": "Typed text"}
    )
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert b"Typed text" in response.content
    assert System.objects.get(slug="fraud").name == "Fraud scoring"


def test_viewer_cannot_edit(personas) -> None:
    response = personas.viewer.post("/systems/fraud/edit/", {"name": "Hacked"})
    assert response.status_code == 403
    assert System.objects.get(slug="fraud").name == "Fraud scoring"


def test_outsider_gets_404(personas) -> None:
    response = personas.outsider.post("/systems/fraud/edit/", {"name": "Hacked"})
    assert response.status_code == 404
    assert System.objects.get(slug="fraud").name == "Fraud scoring"


def test_delete_asks_first_then_deletes(personas) -> None:
    confirm = personas.owner.get("/systems/fraud/delete/")
    assert confirm.status_code == 200
    assert b"cannot be undone" in confirm.content
    assert System.objects.filter(slug="fraud").exists()

    response = personas.owner.post("/systems/fraud/delete/")
    assert response.status_code == 302
    assert not System.objects.filter(slug="fraud").exists()


def test_editor_cannot_delete_a_system(personas) -> None:
    assert personas.teammate.post("/systems/fraud/delete/").status_code == 403
    assert System.objects.filter(slug="fraud").exists()


def test_outsider_cannot_delete_a_system(personas) -> None:
    assert personas.outsider.post("/systems/fraud/delete/").status_code == 404
    assert System.objects.filter(slug="fraud").exists()
