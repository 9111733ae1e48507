"""A system with one of everything the API can address, for the fuzzers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from tests.api.clients import send
from toc.accounts.models import ApiToken, Membership, Role
from toc.cycles.models import Cycle
from toc.cycles.services import cycle_open
from toc.systems.models import IngestKey

ROWS = {
    "slos": {
        "name": "Recall",
        "dimension": "custom",
        "comparator": ">=",
        "target": 90,
        "unit": "%",
        "measured": None,
        "measured_from": "typed",
    },
    "whys": {"answer": "Because", "evidence": "logs", "validated": True},
    "assumptions": {"arrow": "b_d", "text": "All records need the same depth"},
    "tiers": {
        "name": "Tier-1",
        "traffic_share": 1,
        "exit_share": 0.68,
        "latency_ms": 3,
    },
    "criteria": {"metric": "False negatives", "comparator": "==", "threshold": 0},
    "phases": {"name": "Extra", "traffic_share": 0.5, "hold_hours": 24},
    "outcome-rows": {"metric": "Alerts a day", "before": 847, "after": 11},
}


@dataclass
class World:
    """Real identifiers to put in paths, and the tokens to send."""

    ids: dict[str, object]  # path parameter or row kind -> an existing value
    tokens: dict[Role, str]


def token_of(personas, role: Role) -> str:
    user = Membership.objects.get(team=personas.team, role=role).user
    return ApiToken.objects.create(user=user, name="fuzz", expiry=None)[1]


@pytest.fixture
def world(personas) -> World:
    tokens = {role: token_of(personas, role) for role in Role}
    admin = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    cycle: Cycle = cycle_open(system=personas.system, title="Fuzzed", user=admin)
    editor = Client(headers={"Authorization": f"Bearer {tokens[Role.EDITOR]}"})
    ids: dict[str, object] = {
        "team": personas.team.slug,
        "slug": personas.system.slug,
        "stage": "features",
        "number": cycle.number,
    }
    for kind, row in ROWS.items():
        response = send(editor, "post", f"/api/v1/systems/fraud/cycles/1/{kind}/", row)
        assert response.status_code == 201, response.json()
        ids[kind] = response.json()["id"]
    feature = send(
        editor,
        "post",
        "/api/v1/systems/fraud/stages/features/features/",
        {"name": "amount_zscore", "importance": 0.3, "compute_cost": 2},
    )
    assert feature.status_code == 201, feature.json()
    ids["features"] = feature.json()["id"]
    key, _ = IngestKey.issue(system=personas.system, name="pipeline")
    ids["key_id"] = key.pk
    return World(ids=ids, tokens=tokens)


@pytest.fixture
def wsgi_requests_share_the_test_transaction() -> Iterator[None]:
    """Requests made straight to the WSGI app run in the test's transaction.

    Django's test client does the same: at the end of a request Django would
    otherwise close the connection, and with it the test's transaction.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def pytest_terminal_summary(terminalreporter) -> None:
    module = sys.modules.get("tests.fuzz.test_schemathesis")
    calls = getattr(module, "CALLS", None)
    if calls:
        terminalreporter.write_line(
            f"schemathesis: {len(calls)} operations, {sum(calls.values())} "
            "generated requests (each also re-sent by the checks that need it)"
        )
