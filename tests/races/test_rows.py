"""A cycle's lists and records written from several tabs at once."""

from __future__ import annotations

import pytest

from tests.races.conftest import AT_ONCE, at_once, browser_of, statuses
from toc.cycles.models import ValidationExperiment, Why

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/systems/fraud/cycles/1"


def test_whys_added_at_once_take_the_next_positions_in_turn(personas, cycle) -> None:
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE)]
    responses = at_once(
        [
            lambda tab=tab, n=n: tab.post(
                f"{BASE}/whys/add/", {"new-whys-answer": f"Because {n}"}
            )
            for n, tab in enumerate(tabs)
        ]
    )
    assert statuses(responses) == [302] * AT_ONCE
    positions = Why.objects.values_list("position", flat=True)
    assert sorted(positions) == list(range(AT_ONCE))


def test_the_validation_experiment_saved_twice_at_once_is_one_record(
    personas, cycle
) -> None:
    body = {
        "form": "validation",
        "validation-stage": "features",
        "validation-capacity_factor": "3",
        "validation-started": "2026-11-01T10:00",
        "validation-ended": "2026-11-02T10:00",
    }
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE)]
    responses = at_once(
        [lambda tab=tab: tab.post(f"{BASE}/goal/", body) for tab in tabs]
    )
    assert statuses(responses) == [302] * AT_ONCE
    assert ValidationExperiment.objects.get().capacity_factor == 3
