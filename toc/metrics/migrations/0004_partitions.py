"""On PostgreSQL, samples partitioned by UTC day of `ts` and rollups by UTC
month of `minute`, so that retention drops whole partitions instead of
deleting rows (toc/metrics/partitions.py). SQLite keeps its plain tables.

Each table is rebuilt under its own name with its rows: a partition for every
day (month) that has rows and for the next few, and a DEFAULT partition for
the rest. The model state does not change. In the database the primary key
becomes (id, ts) / (id, minute), because a partitioned table's unique keys
must hold its partition key; every other constraint keeps its name, and `id`
keeps its identity sequence and where it had counted to.
"""

from datetime import datetime, timedelta

from django.db import migrations

# (table, partition key, partition span, partitions made beyond the current one)
PARTITIONED = [
    ("metrics_sample", "ts", "day", 3),
    ("metrics_rollup", "minute", "month", 1),
]


def _next(start: datetime, span: str) -> datetime:
    if span == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


def _name(table: str, start: datetime, span: str) -> str:
    return f"{table}_p{start:%Y%m%d}" if span == "day" else f"{table}_p{start:%Y%m}"


def _rebuild(cursor, table: str, key: str | None, span: str, ahead: int) -> None:
    """Rebuilds `table` with its rows, partitioned by range of `key` if given,
    as a plain table otherwise."""
    old = f"{table}_before"
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {old}_id_seq")
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
        [old],
    )
    keys = cursor.fetchall()
    # Their indexes' names are free for the new table once these go.
    for name, kind, _ in keys:
        if kind in "pu":
            cursor.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    partitioning = f"PARTITION BY RANGE ({key})" if key else ""
    cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING ALL) {partitioning}")
    if key:
        cursor.execute(
            f"SELECT DISTINCT date_trunc(%s, {key}, 'UTC') FROM {old} "
            f"UNION SELECT date_trunc(%s, now(), 'UTC')",
            [span, span],
        )
        starts = {start for (start,) in cursor.fetchall()}
        current = max(starts)
        for _ in range(ahead):
            current = _next(current, span)
            starts.add(current)
        for start in sorted(starts):
            cursor.execute(
                f"CREATE TABLE {_name(table, start, span)} PARTITION OF {table} "
                f"FOR VALUES FROM ('{start.isoformat()}') "
                f"TO ('{_next(start, span).isoformat()}')"
            )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), last_value, is_called) "
        f"FROM {old}_id_seq",
        [table],
    )
    primary_key = f"id, {key}" if key else "id"
    cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({primary_key})")
    # After the copy: one check of the whole table rather than one per row.
    for name, kind, definition in keys:
        if kind != "p":
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"ANALYZE {table}")


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, key, span, ahead in PARTITIONED:
            _rebuild(cursor, table, key, span, ahead)


def unpartition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, _, span, ahead in PARTITIONED:
            _rebuild(cursor, table, None, span, ahead)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_slo_budget")]

    operations = [migrations.RunPython(partition, unpartition)]
