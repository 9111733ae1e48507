"""SQL sent with server-side binding, for reads and writes of many values.

Django's cursors bind parameters on the client, quoting each array element
into the SQL text, and read results as text to parse. The driver's own cursor
on Django's connection (the same transaction) sends arrays and reads rows in
PostgreSQL's binary format instead: for a day of series or a processing run's
minutes, a fraction of the cost. (Ingest, which needs several statements in
one round trip, builds its array literals itself: toc/metrics/ingest/storage.py.)

Queries are logged as Django's cursors log them, so that query counts in tests
and benchmarks still see them. They go where Django's router sends a read
(toc/lib/replica.py): the replica only inside a dashboard read, which writes
nothing.
"""

from __future__ import annotations

import time

import psycopg
from django.db import connections

from toc.lib.replica import read_alias


def execute(sql: str, params: list | dict, *, fetch: bool = False) -> list[tuple]:
    """Runs `sql` with binary parameters (and results); the rows if `fetch`."""
    connection = connections[read_alias()]
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        rows = cursor.fetchall() if fetch else []
    if connection.queries_logged:
        statement = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        connection.queries_log.append(
            {"sql": statement, "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows
