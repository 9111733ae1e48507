from __future__ import annotations

import pytest

from toc.systems.models import Stage

HTMX = {"HX-Request": "true"}


def _order() -> list[str]:
    return list(
        Stage.objects.filter(system__slug="fraud").values_list("slug", flat=True)
    )


def _positions() -> list[int]:
    return list(
        Stage.objects.filter(system__slug="fraud").values_list("position", flat=True)
    )


# Adding


def test_editor_adds_a_stage_at_the_end(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Alerting", "slug": "", "unit": "alerts/s"},
    )
    assert response.status_code == 302
    assert _order() == ["ingest", "features", "inference", "alerting"]
    assert Stage.objects.get(slug="alerting").unit == "alerts/s"


def test_add_with_htmx_returns_the_refreshed_list(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Alerting", "slug": "alerts", "unit": "records/s"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#stages"
    assert b"Alerting" in response.content
    assert b"<html" not in response.content
    assert _order()[-1] == "alerts"


def test_duplicate_stage_slug_is_a_field_error_keeping_input(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Second ingest", "slug": "ingest", "unit": "records/s"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert b"already has a stage" in response.content
    assert b'value="Second ingest"' in response.content
    assert _order() == ["ingest", "features", "inference"]


def test_duplicate_derived_slug_is_caught_too(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Ingest", "slug": "", "unit": "records/s"},
    )
    assert response.status_code == 200
    assert "already has a stage" in response.context["form"].errors["slug"][0]


def test_same_stage_slug_is_fine_in_another_system(personas) -> None:
    personas.outsider.post(
        "/systems/other/stages/add/",
        {"name": "Ingest", "slug": "", "unit": "records/s"},
    )
    assert Stage.objects.filter(slug="ingest").count() == 2


def test_viewer_cannot_add_a_stage(personas) -> None:
    response = personas.viewer.post(
        "/systems/fraud/stages/add/", {"name": "Sneaky", "unit": "records/s"}
    )
    assert response.status_code == 403
    assert not Stage.objects.filter(name="Sneaky").exists()


def test_outsider_cannot_add_a_stage(personas) -> None:
    response = personas.outsider.post(
        "/systems/fraud/stages/add/", {"name": "Sneaky", "unit": "records/s"}
    )
    assert response.status_code == 404
    assert not Stage.objects.filter(name="Sneaky").exists()


# Renaming


def test_htmx_edit_form_replaces_only_its_row(personas) -> None:
    response = personas.teammate.get(
        "/systems/fraud/stages/features/edit/", headers=HTMX
    )
    content = response.content.decode().strip()
    assert content.startswith('<li class="stage stage--editing"')
    assert 'value="Features"' in content


def test_rename_a_stage(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/edit/",
        {
            "edit-name": "Feature store",
            "edit-slug": "features",
            "edit-unit": "records/s",
        },
        headers=HTMX,
    )
    assert response["HX-Retarget"] == "#stages"
    assert Stage.objects.get(slug="features").name == "Feature store"


def test_invalid_rename_returns_the_row_with_the_error(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/edit/",
        {"edit-name": "Typed", "edit-slug": "ingest", "edit-unit": "records/s"},
        headers=HTMX,
    )
    assert "HX-Retarget" not in response
    assert b"already has a stage" in response.content
    assert b'value="Typed"' in response.content
    assert Stage.objects.get(slug="features").name == "Features"


def test_rename_without_htmx_shows_a_full_page_form(personas) -> None:
    response = personas.teammate.get("/systems/fraud/stages/features/edit/")
    assert b"<html" in response.content
    assert b"Edit stage Features" in response.content


def test_viewer_cannot_rename(personas) -> None:
    response = personas.viewer.post(
        "/systems/fraud/stages/features/edit/",
        {"edit-name": "X", "edit-slug": "features", "edit-unit": "records/s"},
    )
    assert response.status_code == 403
    assert Stage.objects.get(slug="features").name == "Features"


def test_outsider_cannot_see_the_edit_form(personas) -> None:
    assert (
        personas.outsider.get("/systems/fraud/stages/features/edit/").status_code == 404
    )


# Reordering


@pytest.mark.parametrize(
    ("stage", "direction", "expected"),
    [
        ("inference", "up", ["ingest", "inference", "features"]),
        ("ingest", "down", ["features", "ingest", "inference"]),
        ("ingest", "up", ["ingest", "features", "inference"]),
        ("inference", "down", ["ingest", "features", "inference"]),
    ],
)
def test_move_a_stage(personas, stage, direction, expected) -> None:
    personas.teammate.post(
        f"/systems/fraud/stages/{stage}/move/", {"direction": direction}, headers=HTMX
    )
    assert _order() == expected
    assert _positions() == [0, 1, 2]


def test_move_without_htmx_redirects_back(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/move/", {"direction": "up"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/systems/fraud/stages/"
    assert _order() == ["features", "ingest", "inference"]


def test_move_needs_a_direction(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/move/", {"direction": "sideways"}
    )
    assert response.status_code == 400
    assert _order() == ["ingest", "features", "inference"]


def test_viewer_cannot_reorder(personas) -> None:
    response = personas.viewer.post(
        "/systems/fraud/stages/features/move/", {"direction": "up"}
    )
    assert response.status_code == 403
    assert _order() == ["ingest", "features", "inference"]


def test_outsider_cannot_reorder(personas) -> None:
    response = personas.outsider.post(
        "/systems/fraud/stages/features/move/", {"direction": "up"}
    )
    assert response.status_code == 404
    assert _order() == ["ingest", "features", "inference"]


# Deleting


def test_delete_page_asks_for_confirmation(personas) -> None:
    response = personas.teammate.get("/systems/fraud/stages/features/delete/")
    assert response.status_code == 200
    assert b"Delete the stage Features?" in response.content
    assert _order() == ["ingest", "features", "inference"]


def test_delete_closes_the_gap_in_positions(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/delete/", headers=HTMX
    )
    assert response.status_code == 200
    assert _order() == ["ingest", "inference"]
    assert _positions() == [0, 1]


def test_viewer_cannot_delete_a_stage(personas) -> None:
    response = personas.viewer.post("/systems/fraud/stages/features/delete/")
    assert response.status_code == 403
    assert "features" in _order()


def test_outsider_cannot_delete_a_stage(personas) -> None:
    response = personas.outsider.post("/systems/fraud/stages/features/delete/")
    assert response.status_code == 404
    assert "features" in _order()


def test_csrf_is_enforced_on_stage_changes(personas) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.system.team.memberships.get(role="editor").user)
    response = client.post("/systems/fraud/stages/features/delete/", headers=HTMX)
    assert response.status_code == 403
    assert "features" in _order()
