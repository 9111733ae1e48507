"""Bytes on disk of samples and rollups, every partition counted.

`python -m benchmarks.storage` measures one system-day: a system of 8 stages
posting one sample per stage every 10 s (69,120 samples) and its 11,520 minute
rollups, written straight into a fresh database (toc_bench_storage) as
benchmarks/reads.py seeds history, into the day's partition. The rows are as
compact as they get: live ingest rewrites each minute's rollups as its samples
come in, which leaves dead rows until autovacuum reclaims them.

`cover` makes the partitions of a seeded history as the beat would have made
them while it was live (run in-process, with Django loaded, by run_inprocess).
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta

import psycopg

from benchmarks import reads
from benchmarks.harness import (
    bench_database,
    db_connect,
    django_env,
    log,
    run_inprocess,
)

STAGES = 8
INTERVAL_S = 10
TABLES = ("metrics_sample", "metrics_rollup")


def metrics_bytes(conn: psycopg.Connection) -> dict[str, int]:
    """Each table's bytes with its indexes and TOAST, summed over its partitions
    (a table that is not partitioned counts as its own only partition)."""
    return {
        table: int(
            conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                "FROM pg_partition_tree(%s)",
                [table],
            ).fetchone()[0]
        )
        for table in TABLES
    }


def system_day() -> dict[str, int]:
    """The bytes one system-day adds to each table."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with bench_database("toc_bench_storage") as url:
        info = run_inprocess(django_env(url), "setup", "--stages", str(STAGES))
        with db_connect(url, autocommit=True) as conn:
            before = metrics_bytes(conn)
        reads.seed_history(
            url, info["system_id"], day, day + timedelta(days=1), detailed=True
        )
        with db_connect(url, autocommit=True) as conn:
            # The visibility map and statistics a settled table has.
            for table in TABLES:
                conn.execute(f"VACUUM ANALYZE {table}")
            after = metrics_bytes(conn)
            homes = conn.execute(
                "SELECT tableoid::regclass::text, count(*) "
                "FROM metrics_sample GROUP BY 1"
            ).fetchall()
    log(f"samples by partition: {dict(homes)}")
    return {table: after[table] - before[table] for table in TABLES}


def cover(env: dict[str, str], start: datetime, end: datetime) -> int:
    """Makes the partitions of samples and rollups from `start` to `end` in the
    database of `env`; how many it made."""
    answer = run_inprocess(
        env,
        "cover",
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        module="benchmarks.storage",
    )
    return answer["made"]


def _cover_inprocess(start: str, end: str) -> dict[str, int]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")
    import django

    django.setup()
    from toc.metrics.partitions import ROLLUPS, SAMPLES, partitions_cover

    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    made = partitions_cover(SAMPLES, first, last) + partitions_cover(
        ROLLUPS, first, last
    )
    return {"made": len(made)}


def _measure() -> None:
    grown = system_day()
    samples = STAGES * 86400 // INTERVAL_S
    total = sum(grown.values())
    for table, size in grown.items():
        log(f"{table}: {size / 2**20:.1f} MiB")
    log(
        f"one system-day ({STAGES} stages, a sample every {INTERVAL_S} s): "
        f"{total / 2**20:.1f} MiB, {grown['metrics_sample'] / samples:.0f} B a sample, "
        f"rollups {grown['metrics_rollup'] / total:.0%} of it"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage")
    commands = parser.add_subparsers(dest="command")
    cmd = commands.add_parser("cover")
    cmd.add_argument("--start", required=True)
    cmd.add_argument("--end", required=True)
    args = parser.parse_args()
    if args.command == "cover":
        print(json.dumps(_cover_inprocess(args.start, args.end)), flush=True)
    else:
        _measure()


if __name__ == "__main__":
    main()
