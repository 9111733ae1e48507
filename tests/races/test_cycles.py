"""Closing a cycle and opening one, from several requests at once."""

from __future__ import annotations

import pytest

from tests.api.clients import token_of
from tests.races.conftest import AT_ONCE, api_client, at_once, browser_of, statuses
from toc.accounts.models import Role
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_close

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
    # Which of those a page request gets depends on when it ran, so some or
    # none of them may lead to cycle 2.
    assert set(statuses(responses)) <= {201, 302, 403}, statuses(responses)
    assert {r["Location"] for r in responses if r.status_code == 302} <= {
        "/systems/fraud/cycles/2/"
    }


def test_of_cycles_opened_at_once_one_opens_and_the_rest_are_refused(
    personas,
) -> None:
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
    # Whichever came first opened cycle 1; every other request waited for it on
    # the system's row and then found it in progress.
    assert len([r for r in responses if r.status_code in (201, 302)]) == 1
    assert statuses(responses).count(409) == AT_ONCE - 1, statuses(responses)
    refused_by_api = [r for r in responses[AT_ONCE // 2 :] if r.status_code == 409]
    assert all(r.json()["open_cycle"]["number"] == 1 for r in refused_by_api)
    cycles = Cycle.objects.filter(system=personas.system)
    assert list(cycles.values_list("number", "status")) == [(1, CycleStatus.OPEN)]


def test_a_reopen_and_an_open_at_once_leave_one_cycle_in_progress(
    personas, cycle
) -> None:
    cycle_close(cycle=cycle)
    admin = browser_of(personas.owner)
    api = api_client(token_of(personas, Role.ADMIN))
    responses = at_once(
        [
            lambda: admin.post("/systems/fraud/cycles/1/reopen/", {"reason": "Back"}),
            lambda: api.post(
                "/api/v1/systems/fraud/cycles/",
                {"title": "Next"},
                content_type="application/json",
            ),
        ]
    )
    assert sorted(statuses(responses)) in ([201, 409], [302, 409])
    assert Cycle.objects.filter(status=CycleStatus.OPEN).count() == 1
