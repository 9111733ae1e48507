"""The evaporating cloud as a diagram (templates/cycles/_cloud.html): five boxes,
five arrows, each assumption under the arrow it props up with its mark, the same
on the conflict step and in the retrospective, now and as it stood."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test.html import Element, parse_html

from tests.cycles.conftest import BASE, backdate, day_ago
from toc.cycles.models import Assumption

pytestmark = pytest.mark.django_db

STEP = f"{BASE}/conflict/"
RETRO = f"{BASE}/retrospective/"
BOXES = {
    "A": "Catch attacks in time",
    "B": "Rich analysis",
    "D": "Analyse every record in depth",
    "C": "Decide within 5 minutes",
    "D′": "Analyse records only lightly",
}
ARROWS = {
    "a_b": "A ← B",
    "b_d": "B ← D",
    "a_c": "A ← C",
    "c_e": "C ← D′",
    "d_e": "D ↔ D′",
}


@dataclass(frozen=True)
class Drawn:
    """An assumption as the diagram shows it."""

    arrow: str
    text: str
    broken: bool
    challenged: bool
    marks: str


@pytest.fixture
def cloud(cycle) -> dict[str, Assumption]:
    conflict = cycle.conflict
    (
        conflict.objective,
        conflict.need_b,
        conflict.action_d,
        conflict.need_c,
        conflict.action_e,
    ) = BOXES.values()
    conflict.save()
    assumptions = {
        "broken": Assumption(
            arrow="b_d",
            text="Every record needs the same depth.",
            verdict="does_not_hold",
        ),
        "holds": Assumption(arrow="a_b", text="Subtle attacks exist.", verdict="holds"),
        "open": Assumption(arrow="c_e", text="Light analysis is fast enough."),
        "partly": Assumption(
            arrow="d_e", text="One pipeline serves every record.", verdict="partly"
        ),
    }
    for assumption in assumptions.values():
        assumption.conflict = conflict
        assumption.save()
    conflict.broken_assumption = assumptions["broken"]
    conflict.save()
    return assumptions


def _classes(element: Element) -> set[str]:
    return set(dict(element.attributes).get("class", "").split())


def _find(element: Element, class_name: str) -> list[Element]:
    found = []
    for child in element.children:
        if isinstance(child, Element):
            if class_name in _classes(child):
                found.append(child)
            found += _find(child, class_name)
    return found


def _text(element: Element | str) -> str:
    if isinstance(element, str):
        return element
    return " ".join(_text(child) for child in element.children)


def _cloud(content: bytes) -> Element:
    clouds = _find(parse_html(content.decode()), "cloud")
    assert len(clouds) == 1
    return clouds[0]


def _boxes(cloud: Element) -> dict[str, str]:
    return {
        dict(box.attributes)["data-box"]: _text(box)
        for box in _find(cloud, "cloud__box")
    }


def _drawn(cloud: Element) -> dict[int, Drawn]:
    drawn = {}
    for arrow in _find(cloud, "cloud__arrow"):
        for item in _find(arrow, "cloud__assumption"):
            attributes = dict(item.attributes)
            drawn[int(attributes["data-assumption"])] = Drawn(
                arrow=dict(arrow.attributes)["data-arrow"],
                text=_text(item),
                broken="cloud__assumption--broken" in _classes(item),
                challenged="cloud__assumption--challenged" in _classes(item),
                marks=" ".join(_text(mark) for mark in _find(item, "cloud__mark")),
            )
    return drawn


def test_five_boxes_in_the_methods_order(personas, cloud) -> None:
    boxes = _boxes(_cloud(personas.viewer.get(STEP).content))
    assert list(boxes) == ["A", "B", "D", "C", "D′"]
    for key, text in BOXES.items():
        assert text in boxes[key]


def test_five_arrows_each_named_by_the_boxes_it_joins(personas, cloud) -> None:
    diagram = _cloud(personas.viewer.get(STEP).content)
    arrows = {
        dict(arrow.attributes)["data-arrow"]: _text(arrow)
        for arrow in _find(diagram, "cloud__arrow")
    }
    assert list(arrows) == list(ARROWS)
    for key, label in ARROWS.items():
        assert label in arrows[key]


def test_each_assumption_hangs_under_its_arrow_with_its_mark(personas, cloud) -> None:
    drawn = _drawn(_cloud(personas.viewer.get(STEP).content))
    assert set(drawn) == {assumption.pk for assumption in cloud.values()}
    for assumption in cloud.values():
        assert drawn[assumption.pk].arrow == assumption.arrow
        assert assumption.text in drawn[assumption.pk].text

    broken = drawn[cloud["broken"].pk]
    assert broken.broken and broken.challenged
    assert "broken" in broken.marks
    assert "challenged: does not hold" in broken.marks
    assert drawn[cloud["holds"].pk].marks == "✓ challenged: holds"
    assert drawn[cloud["partly"].pk].marks == "✓ challenged: holds partly"
    unchallenged = drawn[cloud["open"].pk]
    assert not unchallenged.challenged and not unchallenged.broken
    assert unchallenged.marks == "? not challenged yet"
    assert [d for d in drawn.values() if d.broken] == [broken]


def test_an_empty_conflict_draws_the_empty_diagram(personas, cycle) -> None:
    diagram = _cloud(personas.viewer.get(STEP).content)
    assert list(_boxes(diagram)) == ["A", "B", "D", "C", "D′"]
    assert len(_find(diagram, "cloud__arrow")) == 5
    assert _drawn(diagram) == {}


def test_the_retrospective_draws_the_same_cloud(personas, cloud) -> None:
    step = _cloud(personas.viewer.get(STEP).content)
    retro = _cloud(personas.viewer.get(RETRO).content)
    assert _boxes(retro) == _boxes(step)
    assert _drawn(retro) == _drawn(step)


def test_the_retrospective_as_of_draws_the_cloud_as_it_stood(personas, cycle) -> None:
    assumption = Assumption.objects.create(
        conflict=cycle.conflict, arrow="b_d", text="Every record needs the same depth."
    )
    backdate(3)
    assumption.verdict = "does_not_hold"
    assumption.save()
    cycle.conflict.broken_assumption = assumption
    cycle.conflict.save()

    past = _drawn(_cloud(personas.viewer.get(RETRO, {"as_of": day_ago(2)}).content))
    assert past[assumption.pk].arrow == "b_d"
    assert not past[assumption.pk].broken
    assert past[assumption.pk].marks == "? not challenged yet"
    now = _drawn(_cloud(personas.viewer.get(RETRO).content))
    assert now[assumption.pk].broken
