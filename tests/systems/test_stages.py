from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from toc.systems.models import Stage, StageKind

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


@pytest.mark.parametrize("typed", [{"slug": "add"}, {"name": "Add", "slug": ""}])
def test_the_add_pages_slug_is_no_stages(personas, typed) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/", {"name": "Add", "unit": "records/s", **typed}
    )
    assert response.status_code == 200
    assert "page that adds a stage" in response.context["form"].errors["slug"][0]
    assert _order() == ["ingest", "features", "inference"]


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


# Stages of people


def _human(**overrides) -> dict:
    return {
        "name": "Triage",
        "slug": "",
        "unit": "alerts/s",
        "kind": "human",
        "people": "4",
        "items_per_hour": "1.5",
        **overrides,
    }


def test_a_human_stages_capacity_is_people_times_items_per_hour(personas) -> None:
    stage = Stage.objects.create(
        system=personas.system,
        name="Triage",
        slug="triage",
        position=3,
        kind=StageKind.HUMAN,
        people=4,
        items_per_hour=1.5,
    )
    # Records a second, as the ledger counts: 6 an hour.
    assert stage.known_capacity == pytest.approx(6 / 3600)
    assert Stage.objects.get(slug="features").known_capacity is None


@pytest.mark.parametrize(
    "numbers",
    [
        {"kind": StageKind.HUMAN},
        {"kind": StageKind.HUMAN, "people": 4},
        {"kind": StageKind.HUMAN, "people": 0, "items_per_hour": 2},
        {"kind": StageKind.HUMAN, "people": 4, "items_per_hour": 0},
        {"kind": StageKind.MACHINE, "people": 4},
        {"kind": StageKind.MACHINE, "items_per_hour": 2},
    ],
    ids=[
        "human without numbers",
        "human without a pace",
        "human with nobody",
        "human with a pace of zero",
        "machine with people",
        "machine with a pace",
    ],
)
def test_the_database_refuses_a_stage_whose_numbers_do_not_fit_its_kind(
    personas, numbers
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Stage.objects.create(
            system=personas.system, name="Odd", slug="odd", position=3, **numbers
        )


def test_editor_adds_a_stage_of_people(personas) -> None:
    response = personas.teammate.post("/systems/fraud/stages/add/", _human())
    assert response.status_code == 302
    stage = Stage.objects.get(slug="triage")
    assert (stage.kind, stage.people, stage.items_per_hour) == ("human", 4, 1.5)
    page = personas.viewer.get("/systems/fraud/stages/").content.decode()
    assert "4 people × 1.5 items an hour each" in page


def test_a_new_stage_is_a_machine_unless_told(personas) -> None:
    personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Alerting", "slug": "", "unit": "records/s"},
    )
    stage = Stage.objects.get(slug="alerting")
    assert (stage.kind, stage.people, stage.items_per_hour) == ("machine", None, None)


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"people": "", "items_per_hour": ""},
            {"people", "items_per_hour"},
        ),
        ({"items_per_hour": "0"}, {"items_per_hour"}),
        ({"people": "0"}, {"people"}),
        ({"people": "2.5"}, {"people"}),
        ({"kind": "machine"}, {"people", "items_per_hour"}),
        ({"kind": "machine", "people": ""}, {"items_per_hour"}),
    ],
    ids=[
        "people without numbers",
        "a pace of zero",
        "nobody",
        "half a person",
        "machine with numbers",
        "machine with a pace",
    ],
)
def test_numbers_that_do_not_fit_the_kind_are_field_errors(
    personas, overrides, errors
) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/", _human(**overrides), headers=HTMX
    )
    assert response.status_code == 200
    assert set(response.context["add_form"].errors) == errors
    assert not Stage.objects.filter(name="Triage").exists()


def test_a_stage_becomes_one_of_people_in_its_edit_row(personas) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/features/edit/",
        {
            "edit-name": "Features",
            "edit-slug": "features",
            "edit-unit": "records/s",
            "edit-kind": "human",
            "edit-people": "3",
            "edit-items_per_hour": "20",
        },
        headers=HTMX,
    )
    assert response["HX-Retarget"] == "#stages"
    assert "3 people × 20 items an hour each" in response.content.decode()
    assert Stage.objects.get(slug="features").known_capacity == pytest.approx(60 / 3600)


def test_the_edit_row_offers_the_kind_and_the_numbers(personas) -> None:
    content = personas.teammate.get(
        "/systems/fraud/stages/features/edit/", headers=HTMX
    ).content.decode()
    for name in ("edit-kind", "edit-people", "edit-items_per_hour"):
        assert f'name="{name}"' in content
