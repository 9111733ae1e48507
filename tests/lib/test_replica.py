"""The router that sends dashboard reads to the replica, and the settings that
configure the replica and PgBouncer's transaction pooling."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from toc.lib.replica import REPLICA, ReplicaRouter, read_alias, replica_reads
from toc.settings import database_settings

PRIMARY_URL = "postgres://toc:pw@db.internal:5432/toc"
REPLICA_URL = "postgres://toc:pw@replica.internal:5432/toc"


@pytest.fixture
def configured(monkeypatch) -> None:
    """A replica in the settings; no connection to it is ever made here."""
    monkeypatch.setitem(connections.settings, REPLICA, {})


@replica_reads
def _dashboard_read() -> tuple[str | None, str, str]:
    router = ReplicaRouter()
    return router.db_for_read(object), router.db_for_write(object), read_alias()


def test_marked_view_reads_the_replica_and_writes_the_primary(configured) -> None:
    assert _dashboard_read() == (REPLICA, "default", REPLICA)


def test_reads_outside_a_marked_view_stay_on_the_primary(configured) -> None:
    assert ReplicaRouter().db_for_read(object) is None
    assert read_alias() == "default"


def test_without_a_replica_a_marked_view_reads_the_primary() -> None:
    assert _dashboard_read() == (None, "default", "default")


def test_the_mark_ends_with_the_view_even_when_it_fails(configured) -> None:
    @replica_reads
    def failing() -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert read_alias() == "default"


def test_migrations_run_on_the_primary_only() -> None:
    router = ReplicaRouter()
    assert router.allow_migrate("default", "metrics")
    assert not router.allow_migrate(REPLICA, "metrics")


def _environment(monkeypatch, **variables: str) -> None:
    for name in (
        "DATABASE_REPLICA_URL",
        "DATABASE_TRANSACTION_POOLING",
        "DATABASE_CONNECT_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", PRIMARY_URL)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_no_replica_unless_its_url_is_given(monkeypatch) -> None:
    _environment(monkeypatch)
    assert list(database_settings()) == ["default"]


def test_replica_gets_the_primarys_options_and_mirrors_it_under_test(
    monkeypatch,
) -> None:
    _environment(
        monkeypatch, DATABASE_REPLICA_URL=REPLICA_URL, DATABASE_CONNECT_TIMEOUT="3"
    )
    databases = database_settings()
    primary, replica = databases["default"], databases[REPLICA]
    assert replica["HOST"] == "replica.internal"
    assert (
        replica["OPTIONS"]
        == primary["OPTIONS"]
        == {
            "options": "-c jit=off",
            "connect_timeout": 3,
        }
    )
    assert replica["CONN_MAX_AGE"] == primary["CONN_MAX_AGE"] == 60
    assert replica["TEST"] == {"MIRROR": "default"}


def test_bad_replica_url_names_its_variable(monkeypatch) -> None:
    _environment(monkeypatch, DATABASE_REPLICA_URL="not-a-url")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL="):
        database_settings()


def test_transaction_pooling_drops_startup_options_and_server_side_cursors(
    monkeypatch,
) -> None:
    _environment(
        monkeypatch, DATABASE_REPLICA_URL=REPLICA_URL, DATABASE_TRANSACTION_POOLING="1"
    )
    for config in database_settings().values():
        assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert config["OPTIONS"] == {"connect_timeout": 5}


def test_without_pooling_server_side_cursors_stay(monkeypatch) -> None:
    _environment(monkeypatch)
    assert database_settings()["default"]["DISABLE_SERVER_SIDE_CURSORS"] is False
