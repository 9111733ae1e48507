"""With a read replica configured, the dashboard's and the API's ledger and
series reads go to it, and ingest and processing stay on the primary."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext

from tests.metrics.samples import steady_pipeline
from toc.lib.replica import REPLICA
from toc.metrics.models import SystemLedger

# What a signed-in request reads before its view: the session and the user.
SIGN_IN_TABLES = ("django_session", "auth_user")

# Committed data: the replica's connection cannot see the test's open
# transaction on the primary.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup) -> Iterator[None]:
    """The replica as the settings make it under test (a TEST MIRROR of the
    default database): the same database through a connection of its own.
    Added before the tests' database access is set up, which checks it."""
    config = copy.deepcopy(connections["default"].settings_dict)
    config["TEST"]["MIRROR"] = "default"
    connections.settings[REPLICA] = config
    yield
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture(autouse=True)
def router(settings) -> None:
    settings.DATABASE_ROUTERS = ["toc.lib.replica.ReplicaRouter"]


@pytest.fixture
def replica() -> BaseDatabaseWrapper:
    return connections[REPLICA]


@pytest.fixture
def unreachable_replica() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("An SQLite file is never unreachable.")
    reachable = connections.settings[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]
    connections.settings[REPLICA] = {**reachable, "HOST": "127.0.0.1", "PORT": 1}
    yield
    connections[REPLICA].close()
    del connections[REPLICA]
    connections.settings[REPLICA] = reachable


def _reads(personas, url: str, headers: dict) -> tuple[list[str], list[str]]:
    """The SQL of one GET as the viewer: (on the primary, on the replica)."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = personas.viewer.get(url, headers=headers)
    assert response.status_code == 200
    return (
        [query["sql"] for query in primary.captured_queries],
        [query["sql"] for query in replica.captured_queries],
    )


def _only_signing_in(queries: list[str]) -> bool:
    return all(any(table in sql for table in SIGN_IN_TABLES) for sql in queries)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/systems/fraud/", {}),
        ("/systems/fraud/series/?range=day", {"HX-Request": "true"}),
        ("/systems/fraud/ledger/", {"HX-Request": "true"}),
        ("/api/v1/systems/fraud/ledger/", {}),
        ("/api/v1/systems/fraud/series/", {}),
    ],
)
def test_dashboard_reads_go_to_the_replica(
    replica, personas, with_data, url, headers
) -> None:
    on_primary, on_replica = _reads(personas, url, headers)
    assert any("metrics_systemledger" in sql for sql in on_replica)
    assert _only_signing_in(on_primary), on_primary


@pytest.mark.parametrize(
    "url", ["/systems/fraud/series/?range=day", "/api/v1/systems/fraud/series/"]
)
def test_series_arrays_are_read_from_the_replica(
    replica, personas, with_data, url
) -> None:
    """The series' binary reads (toc/metrics/wire.py) follow the router too."""
    on_primary, on_replica = _reads(personas, url, {"HX-Request": "true"})
    if connection.vendor == "postgresql":
        assert any("metrics_rollup" in sql for sql in on_replica)
    assert not any("metrics_rollup" in sql for sql in on_primary)


def test_pages_not_marked_read_the_primary(replica, personas, with_data) -> None:
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = personas.viewer.get("/systems/fraud/timeline/")
    assert response.status_code == 200
    assert on_replica.captured_queries == []


def test_ingest_and_processing_use_only_the_primary(
    replica, personas, post_samples, recent
) -> None:
    with CaptureQueriesContext(replica) as on_replica:
        response = post_samples(
            steady_pipeline(["ingest", "features", "inference"], recent, 2, {})
        )
    assert response.status_code == 202
    assert SystemLedger.objects.get(system=personas.system).computed_at is not None
    assert on_replica.captured_queries == []


def test_an_unreachable_replica_answers_503_like_the_primary(
    unreachable_replica, personas
) -> None:
    page = personas.viewer.get("/systems/fraud/")
    api = personas.viewer.get("/api/v1/systems/fraud/ledger/")
    assert (page.status_code, api.status_code) == (503, 503)
    assert api.json()["errors"][0]["message"].startswith("The database is unreachable")
