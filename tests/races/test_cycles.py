"""Closing a cycle and opening one, from several requests at once."""

from __future__ import annotations

import pytest

from tests.api.clients import token_of
from tests.races.conftest import AT_ONCE, api_client, at_once, browser_of, statuses
from toc.accounts.models import Role
from toc.cycles.models import Cycle, CycleStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_next_cycle_clicked_many_times_at_once_opens_one_cycle(
    personas, cycle
) -> None:
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE // 2)]
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [lambda tab=tab: tab.post("/systems/fraud/cycles/1/next/") for tab in tabs]
        + [
            lambda: api.post("/api/v1/systems/fraud/cycles/1/close/")
            for _ in range(AT_ONCE // 2)
        ]
    )
    cycles = Cycle.objects.filter(system=personas.system).order_by("number")
    assert [(c.number, c.status) for c in cycles] == [
        (1, CycleStatus.CLOSED),
        (2, CycleStatus.OPEN),
    ]
    # One request closed cycle 1. The page's others that were already under
    # way lead to cycle 2 with a message; any request that came after the
    # close is refused as a write to a closed cycle (403), as the API's are.
    assert set(statuses(responses)) <= {201, 302, 403}, statuses(responses)
    assert {r["Location"] for r in responses if r.status_code == 302} == {
        "/systems/fraud/cycles/2/"
    }


def test_cycles_opened_at_once_are_numbered_in_turn(personas) -> None:
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE // 2)]
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [
            lambda tab=tab, n=n: tab.post(
                "/systems/fraud/cycles/", {"title": f"From the page {n}"}
            )
            for n, tab in enumerate(tabs)
        ]
        + [
            lambda n=n: api.post(
                "/api/v1/systems/fraud/cycles/",
                {"title": f"From a script {n}"},
                content_type="application/json",
            )
            for n in range(AT_ONCE // 2)
        ]
    )
    assert statuses(responses) == [201] * (AT_ONCE // 2) + [302] * (AT_ONCE // 2)
    numbers = Cycle.objects.filter(system=personas.system).values_list(
        "number", flat=True
    )
    assert sorted(numbers) == list(range(1, AT_ONCE + 1))
