"""The test database made unreachable for a while, without touching the server,
and moved to a migration and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Points the connection at nothing (a missing file, or a port no server
    listens on) and restores it afterwards."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/toc.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=1)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def migrate_to(target: list[tuple[str, str]]) -> Apps:
    """Migrates the test database to `target` (app, migration) and returns the
    models as they stand there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def migrate_to_latest() -> None:
    """Every app's latest migration again, for the tests that follow on this
    database (a target of one app's migration leaves the later tables out)."""
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
