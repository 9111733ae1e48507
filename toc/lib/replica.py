"""Dashboard reads from a read replica, everything else from the primary.

Only views marked with `@replica_reads` read from the replica (the
`DATABASE_REPLICA_URL` setting): the dashboard and its series, and the API's
ledger and series. Ingest, processing and every form read what they have just
written, which a replica may not have yet, so they stay on the primary; a
worker never enters a marked view, so it never reads from the replica.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading_dashboard: ContextVar[bool] = ContextVar("reading_dashboard", default=False)


def replica_reads[View: Callable[..., Any]](view: View) -> View:
    """Marks a view (or an API view's method) that only reads, and may read
    data a few milliseconds old: its queries go to the replica if there is one.

    Put it under `@login_required`: the session and the user are then read
    from the primary, so a person who has just signed in is not sent back to
    the sign-in page because the replica has not seen their session yet.
    """

    @wraps(view)
    def reading_from_replica(*args: Any, **kwargs: Any) -> Any:
        # Reset, not just set: a gunicorn thread serves the next request in
        # the same context.
        token = _reading_dashboard.set(True)
        try:
            return view(*args, **kwargs)
        finally:
            _reading_dashboard.reset(token)

    return reading_from_replica  # type: ignore[return-value]


def read_alias() -> str:
    """The database a read goes to here: the replica inside a marked view when
    one is configured, the primary otherwise."""
    if _reading_dashboard.get() and REPLICA in connections:
        return REPLICA
    return DEFAULT_DB_ALIAS


class ReplicaRouter:
    """Installed by the settings when `DATABASE_REPLICA_URL` is set."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        alias = read_alias()
        return alias if alias == REPLICA else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: object, obj2: object, **hints: Any) -> bool:
        # One database and its copy: a row read from either may point at any.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # The replica receives the schema by replication.
        return db == DEFAULT_DB_ALIAS
