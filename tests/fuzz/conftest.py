"""A system with one of everything the API can address, for the fuzzers.

The world is built once per test module, in a transaction that is rolled back
after the module's last test; each test runs in a savepoint inside it (the `db`
fixture's), so nothing one test writes reaches the next. Built per test, it
cost the fuzz suite more than a minute of setup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client

from tests.api.clients import send, token_of, user_of
from tests.api.cycles.bodies import VALID_ROWS
from tests.conftest import Personas, add_to_summary, make_personas
from tests.factories import ApiTokenFactory, IngestKeyFactory, InvitationFactory
from toc.accounts.models import Role
from toc.cycles.services import cycle_open
from toc.notifications.models import Webhook


@dataclass
class World:
    """Real identifiers to put in paths, and the tokens to send."""

    personas: Personas
    ids: dict[str, object]  # path parameter or row kind -> an existing value
    tokens: dict[Role, str]


def _build_world() -> World:
    personas = make_personas()
    tokens = {role: token_of(personas, role) for role in Role}
    cycle = cycle_open(
        system=personas.system, title="Fuzzed", user=user_of(personas, Role.ADMIN)
    )
    editor = Client(headers={"Authorization": f"Bearer {tokens[Role.EDITOR]}"})
    ids: dict[str, object] = {
        "team": personas.team.slug,
        "slug": personas.system.slug,
        "stage": "features",
        "number": cycle.number,
        "step": "experiment",
    }
    for kind, row in VALID_ROWS.items():
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
    ids["slos"] = personas.system.slos.first().pk
    ids["webhook_id"] = Webhook.issue(
        team=personas.team,
        url="https://hooks.example.com/fuzz",
        events=["constraint.moved"],
    )[0].pk
    key = IngestKeyFactory(system=personas.system, name="fuzzed")
    ids["key_id"] = key.pk
    # A member to read, change and remove; a token of the editor's own to revoke.
    ids["username"] = user_of(personas, Role.VIEWER).username
    ids["token_key"] = ApiTokenFactory(user=user_of(personas, Role.EDITOR)).token_key
    ids["invitation_id"] = InvitationFactory(team=personas.team).pk
    return World(personas=personas, ids=ids, tokens=tokens)


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world: World, db) -> World:
    return _module_world


@pytest.fixture
def personas(world: World) -> Personas:
    """The world's people and system (tests/conftest.py's would be a second
    "fraud")."""
    return world.personas


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    module = sys.modules.get("tests.fuzz.test_schemathesis")
    calls = getattr(module, "CALLS", None)
    if calls:
        # Under pytest-xdist, a line from each worker that ran some of them.
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        add_to_summary(
            "fuzzing",
            f"schemathesis{f' ({worker})' if worker else ''}: {len(calls)} "
            f"operations, {sum(calls.values())} generated requests (each also "
            "re-sent by the checks that need it)",
        )
