"""A stage of people needs its two numbers: their labels say "(optional)" only
while the stage is a machine, and leaving them out says what is missing."""

from __future__ import annotations

from toc.systems.models import Stage, StageKind

OPTIONAL = '<span class="optional">(optional)</span>'


def _label(page: str, field_id: str) -> str:
    start = page.index(f'<label for="{field_id}"')
    return page[start : page.index("</label>", start)]


def test_a_stage_of_peoples_numbers_are_not_labelled_optional(personas) -> None:
    Stage.objects.create(
        system=personas.system,
        name="Triage",
        slug="triage",
        position=3,
        kind=StageKind.HUMAN,
        people=4,
        items_per_hour=1.5,
    )
    page = personas.teammate.get("/systems/fraud/stages/triage/edit/").content.decode()
    assert OPTIONAL not in _label(page, "id_edit-people")
    assert OPTIONAL not in _label(page, "id_edit-items_per_hour")
    assert OPTIONAL in _label(page, "id_edit-description")


def test_a_machine_stages_numbers_are_optional(personas) -> None:
    page = personas.teammate.get("/systems/fraud/stages/features/edit/").content
    assert OPTIONAL in _label(page.decode(), "id_edit-people")


def test_a_stage_of_people_without_its_numbers_says_what_is_missing(
    personas,
) -> None:
    response = personas.teammate.post(
        "/systems/fraud/stages/add/",
        {"name": "Triage", "slug": "", "unit": "alerts/s", "kind": "human"},
    )
    errors = response.context["form"].errors
    assert errors["people"] == ["A stage of people needs this number."]
    assert errors["items_per_hour"] == ["A stage of people needs this number."]
    page = response.content.decode()
    assert OPTIONAL not in _label(page, "id_people")
