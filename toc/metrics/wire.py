"""SQL sent with server-side binding, for the hot paths that move many values.

Django's cursors bind parameters on the client: every value of a 500-sample
batch is quoted into the SQL text, and results come back as text to parse. The
driver's own cursor on Django's connection (the same transaction) sends arrays
and reads them in PostgreSQL's binary format instead, which for arrays of
numbers and times costs a fraction of the text round trip.

Queries are logged as Django's cursors log them, so that query counts in tests
and benchmarks still see them.
"""

from __future__ import annotations

import time

import psycopg
from django.db import connection


def execute(sql: str, params: list | dict, *, fetch: bool = False) -> list[tuple]:
    """Runs `sql` with binary parameters (and results); the rows if `fetch`."""
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
