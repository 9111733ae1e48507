"""A cycle's lists and records written from several tabs at once."""

from __future__ import annotations

import threading

import pytest
from django.http import HttpResponse

from tests.races.conftest import AT_ONCE, at_once, browser_of, statuses
from toc.cycles import rows
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


@pytest.fixture
def close_meets_add(monkeypatch):
    """A why's add that has found the cycle open waits (up to 3 s) for the
    cycle to be closed before it writes: without a lock, the close gets in."""
    checked, closed = threading.Event(), threading.Event()
    find = rows.get_cycle

    def find_then_wait(*args, **kwargs):
        found = find(*args, **kwargs)
        checked.set()
        closed.wait(timeout=3)
        return found

    monkeypatch.setattr(rows, "get_cycle", find_then_wait)
    return checked, closed


def test_a_row_added_while_the_cycle_closes_lands_before_the_close(
    personas, cycle, close_meets_add
) -> None:
    checked, closed = close_meets_add
    adding, closing = browser_of(personas.teammate), browser_of(personas.teammate)

    def close() -> HttpResponse:
        checked.wait(timeout=5)
        response = closing.post(f"{BASE}/next/")
        closed.set()
        return response

    added, closing_response = at_once(
        [
            lambda: adding.post(f"{BASE}/whys/add/", {"new-whys-answer": "Late"}),
            close,
        ]
    )
    assert (added.status_code, closing_response.status_code) == (302, 302)
    why = Why.objects.get(answer="Late")
    cycle.refresh_from_db()
    assert why.history.earliest().history_date < cycle.closed_at
