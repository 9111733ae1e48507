"""Part 3, reads: ledger and series API latency at 30 days of history, then 10x.

The history (10-second samples of 10 stages, and their 1-minute rollups) is
written straight into PostgreSQL; the API is read over HTTP from gunicorn (2
workers) by one client, one request at a time, so the figures are latencies
without queueing. First with 30 days; then a second database gets the same
system with 300 days, and both are read again with requests alternating
between them, so the machine's other load falls on both alike and their ratio
shows what the history alone costs.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from benchmarks import dashboard, storage
from benchmarks.harness import (
    BenchError,
    Report,
    Services,
    admin_connect,
    bearer,
    bench_database,
    db_connect,
    django_env,
    http_request,
    log,
    percentile,
    run_inprocess,
    run_manage,
)

PART = "reads"
STAGES = 10
INTERVAL_S = 10
LEDGER_REQUESTS = 200
SERIES_REQUESTS = 100
WARMUP_REQUESTS = 10
TARGET_LEDGER_P95_MS = 25.0
TARGET_SERIES_P95_MS = 60.0
TARGET_GROWTH = 1.2
PROCESSING_RUNS = 3
CHUNK = timedelta(days=1)
# Two connections, each writing half of the stages: one backend per core.
SEED_CONNECTIONS = 2
SEED_STATEMENT_TIMEOUT = "300s"
# The stage that runs near saturation, so the ledger has a constraint.
HOT_STAGE_POSITION = 4

# Samples for [start, end) of the selected stages. `detailed` values vary
# smoothly (and differ per stage) so the JSON carries full-precision floats like
# real measurements do, and rows go in time order as live ingest writes them.
# The cheap form (constant values per stage, no sort) is for history older than
# anything the measured reads touch, where only the rows' number matters: it
# seeds about twice as fast.
_DETAILED = {
    "epoch": "CROSS JOIN LATERAL (SELECT date_part('epoch', g.ts) AS e) AS t",
    "share": """CASE WHEN st.position = %(hot)s THEN 0.9 + 0.05 * sin(t.e / 600.0)
                ELSE 0.5 + 0.25 * sin(t.e / 5400.0 + st.position) END
           + 0.02 * sin(t.e * 0.731 + st.position)""",
    "queue": "greatest(0, round(40 + 35 * sin(t.e / 1800.0 + st.position)))::bigint",
    "order": "ORDER BY g.ts, st.position",
}
_CHEAP = {
    "epoch": "",
    "share": "CASE WHEN st.position = %(hot)s THEN 0.9 ELSE 0.5 END",
    "queue": "40",
    "order": "",
}


def _samples_insert(detailed: bool) -> str:
    parts = _DETAILED if detailed else _CHEAP
    return f"""
INSERT INTO metrics_sample (stage_id, ts, throughput, capacity, utilization,
    latency_p95_ms, queue_depth, errors, dropped, blocked, failure_mode, received_at)
SELECT st.id, g.ts, st.capacity * u.share, st.capacity, u.share,
    20 + 80 * u.share * u.share, {parts["queue"]}, 0, 0, NULL, '', g.ts
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '10 s',
                     interval '10 s') AS g(ts)
{parts["epoch"]}
CROSS JOIN (
    SELECT id, position, 1000.0::float8 + 100 * position AS capacity
    FROM systems_stage
    WHERE system_id = %(system)s AND position %% %(groups)s = %(group)s
) AS st
CROSS JOIN LATERAL (SELECT {parts["share"]} AS share) AS u
{parts["order"]}
"""


def _seed_sql(detailed: bool) -> str:
    """The samples with their rollups, computed from the inserted rows. The
    least-squares sums measure t from first_ts, which is the minute itself
    since samples fall on :00, :10, ... :50."""
    return f"""
WITH ins AS (
{_samples_insert(detailed)}
RETURNING stage_id, ts, throughput, capacity, utilization, blocked,
          latency_p95_ms, queue_depth, errors, dropped
)
INSERT INTO metrics_rollup (stage_id, minute, first_ts, last_ts, count,
    capacity_sum, throughput_sum, utilization_sum, utilization_count,
    blocked_sum, blocked_count, latency_p95_max, last_queue_depth,
    time_sum, queue_sum, time_sq_sum, time_queue_sum, queue_sq_sum, errors, dropped,
    failure_modes)
SELECT stage_id, date_trunc('minute', ts), min(ts), max(ts), count(*),
    sum(capacity), sum(throughput), coalesce(sum(utilization), 0), count(utilization),
    coalesce(sum(blocked), 0), count(blocked), max(latency_p95_ms),
    (array_agg(queue_depth ORDER BY ts DESC))[1],
    sum(t), sum(queue_depth), sum(t * t), sum(t * queue_depth),
    sum(queue_depth::float8 * queue_depth), sum(errors), sum(dropped), '[]'::jsonb
FROM (SELECT *, date_part('epoch', ts - date_trunc('minute', ts)) AS t
      FROM ins) AS x
GROUP BY stage_id, date_trunc('minute', ts)
"""


def seed_history(
    url: str, system_id: int, start: datetime, end: datetime, *, detailed: bool
) -> int:
    """Samples and rollups for [start, end), a day per statement; rows written."""
    statement = _seed_sql(detailed)
    chunks: list[tuple[datetime, datetime]] = []
    at = start
    while at < end:
        chunks.append((at, min(at + CHUNK, end)))
        at += CHUNK
    stop = threading.Event()
    errors: list[BaseException] = []
    done = [0] * SEED_CONNECTIONS
    started = time.perf_counter()

    def writer(group: int) -> None:
        try:
            with db_connect(url) as conn:
                # Skips the foreign-key triggers (superuser only): the stage
                # ids are right by construction, and this is set-up, not measured.
                conn.execute("SET session_replication_role = replica")
                conn.execute(f"SET statement_timeout = '{SEED_STATEMENT_TIMEOUT}'")
                for chunk_start, chunk_end in chunks:
                    if stop.is_set():
                        return
                    conn.execute(
                        statement,
                        {
                            "start": chunk_start,
                            "end": chunk_end,
                            "system": system_id,
                            "groups": SEED_CONNECTIONS,
                            "group": group,
                            "hot": HOT_STAGE_POSITION,
                        },
                    )
                    conn.commit()
                    done[group] += 1
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            stop.set()

    threads = [
        threading.Thread(target=writer, args=(group,), daemon=True)
        for group in range(SEED_CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    rows_per_day = 86400 // INTERVAL_S * STAGES
    next_report = time.monotonic() + 30
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=1)
            if time.monotonic() >= next_report:
                next_report += 30
                days = sum(done) / SEED_CONNECTIONS
                rate = days * rows_per_day / (time.perf_counter() - started)
                log(f"  seeded {days:.0f}/{len(chunks)} days ({rate:,.0f} rows/s)")
    finally:
        stop.set()
    if errors:
        raise BenchError(f"seeding failed: {errors[0]!r}") from errors[0]
    return round((end - start).total_seconds()) // INTERVAL_S * STAGES


def add_live_minute(url: str, system_id: int, minute: datetime) -> None:
    """One new minute of samples owed to processing, as an ingest batch leaves it."""
    with db_connect(url) as conn:
        conn.execute(
            _samples_insert(detailed=True),
            {
                "start": minute,
                "end": minute + timedelta(minutes=1),
                "system": system_id,
                "groups": 1,
                "group": 0,
                "hot": HOT_STAGE_POSITION,
            },
        )
        conn.execute(
            "INSERT INTO metrics_pendingminute (system_id, stage_id, minute, created) "
            "SELECT system_id, id, %s, now() FROM systems_stage WHERE system_id = %s",
            [minute, system_id],
        )
        conn.commit()


def seed_finding(url: str, system_id: int, minute: datetime) -> None:
    """The finding a live system would have for `minute`, so processing resumes
    from there instead of replaying the whole seeded history."""
    with db_connect(url) as conn:
        conn.execute(
            "INSERT INTO metrics_constraintfinding (system_id, minute, stage, headroom,"
            " confirmed, candidate, candidate_since) "
            "VALUES (%s, %s, 's04', 1.1, 's04', '', NULL)",
            [system_id, minute],
        )
        conn.commit()


def analyze(url: str) -> float:
    # autovacuum is off on this server; a production one would have analyzed
    # tables this size by now, so the planner gets statistics.
    started = time.perf_counter()
    with db_connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE metrics_sample")
        conn.execute("ANALYZE metrics_rollup")
    return time.perf_counter() - started


def table_sizes(url: str) -> str:
    with db_connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM metrics_rollup), "
            "pg_size_pretty(pg_total_relation_size('metrics_sample')), "
            "pg_size_pretty(pg_total_relation_size('metrics_rollup'))"
        ).fetchone()
    return f"{row[0]:,} rollups; samples {row[1]}, rollups {row[2]} on disk"


@dataclass
class Target:
    """One history size: its database, server and system."""

    label: str
    url: str
    env: dict[str, str]
    port: int
    system_id: int
    slug: str
    token: str
    # The next minute after the history, for processing runs.
    next_minute: datetime
    # Samples written while seeding, and the seconds that took.
    seeded: tuple[int, float] = field(default=(0, 0.0))


def measure_http(targets: list[Target]) -> list[dict[str, list[float]]]:
    """Latencies of the ledger and series requests of each target.

    With several targets the requests alternate between them, one by one, so
    that whatever else the machine is doing falls on all of them alike.
    """
    results: list[dict[str, list[float]]] = [{} for _ in targets]
    for name, count in (("ledger", LEDGER_REQUESTS), ("series", SERIES_REQUESTS)):
        calls = [
            (t.port, f"/api/v1/systems/{t.slug}/{name}/", bearer(t.token))
            for t in targets
        ]
        # Warm-up: both gunicorn workers, their connections and caches.
        for port, path, headers in calls:
            for _ in range(WARMUP_REQUESTS):
                body = _get(port, path, headers)[0]
            if name == "series":
                stages = json.loads(body)["stages"]
                # Points that carry data: each stage's load list is aligned to `t`.
                points = sum(
                    sum(load is not None for load in stage["load"]) for stage in stages
                )
                log(f"  series: {len(stages)} stages, {points} points, {len(body)} B")
        for result in results:
            result[name] = []
        for _ in range(count):
            for result, (port, path, headers) in zip(results, calls, strict=True):
                result[name].append(_get(port, path, headers)[1])
    return results


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[bytes, float]:
    status, body, seconds = http_request(port, "GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"GET {path}: {status} {body[:300]!r}")
    return body, seconds


def processing_run(target: Target) -> float:
    """Seconds of one processing run as the worker does it for one new minute:
    rollups of that minute, findings since the last, the ledger."""
    add_live_minute(target.url, target.system_id, target.next_minute)
    target.next_minute += timedelta(minutes=1)
    answer = run_inprocess(target.env, "process", "--system-id", str(target.system_id))
    return answer["seconds"]


def checkpoint() -> None:
    # Seeding leaves gigabytes of dirty buffers; flushing them now keeps the
    # checkpointer from competing with the measured requests.
    with admin_connect() as conn:
        conn.execute("CHECKPOINT")


def prepare(
    stack: contextlib.ExitStack,
    label: str,
    dbname: str,
    end: datetime,
    spans: list[tuple[timedelta, timedelta, bool]],
) -> Target:
    """A database with a system whose history is `spans` (from, to before `end`,
    detailed) and a gunicorn serving it."""
    url = stack.enter_context(bench_database(dbname))
    env = django_env(url)
    info = run_inprocess(env, "setup", "--stages", str(STAGES))
    system_id = info["system_id"]
    # Each day in a partition of its own, as live ingest leaves it.
    storage.cover(env, end - max(start for start, _, _ in spans), end)
    seed_finding(url, system_id, end - timedelta(minutes=1))
    dashboard.seed_moves(url, system_id, end)
    began, rows = time.perf_counter(), 0
    for span_start, span_end, detailed in spans:
        kind = "detailed" if detailed else "constant-valued"
        log(
            f"{label}: seeding {end - span_start:%Y-%m-%d} .. {end - span_end:%Y-%m-%d}"
            f" ({kind} values)"
        )
        rows += seed_history(
            url, system_id, end - span_start, end - span_end, detailed=detailed
        )
    seconds = time.perf_counter() - began
    log(
        f"  {rows:,} samples + rollups in {seconds:.0f}s ({rows / seconds:,.0f} rows/s)"
    )
    log(f"  analyze {analyze(url):.1f}s; {table_sizes(url)}")
    # The dashboard's templates need the static files' manifest (DEBUG off).
    run_manage(env, "collectstatic", "--noinput", quiet=True)
    services = stack.enter_context(Services(env))
    services.start_gunicorn(workers=2)
    target = Target(
        label, url, env, services.port, system_id, info["slug"], info["api_token"], end
    )
    target.seeded = (rows, seconds)
    return target


def run(report: Report, *, days: int = 30, scale: int = 10) -> None:
    log(f"reads: {days} days of history, then {days * scale} in a second database")
    # Room after the history for live minutes that are not in the future.
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    history = timedelta(days=days)
    small_label, large_label = f"{days}d", f"{days * scale}d"
    with contextlib.ExitStack() as stack:
        small = prepare(
            stack, small_label, "toc_bench_reads", end, [(history, timedelta(0), True)]
        )
        _report_seed(report, small)
        checkpoint()
        first_run = processing_run(small)  # also computes the ledger
        log(f"measuring reads at {small_label} (load average {os.getloadavg()[0]:.2f})")
        alone = measure_http([small])[0]
        _report_round(report, small_label, alone)
        report.add(
            PART,
            f"processing run, 1 new minute ({small_label})",
            first_run * 1000,
            "ms",
        )
        _report_queries(report, small, count=True)

        # The same system with ten times the history: the older part first, so
        # the table is in time order as a live one is.
        large = prepare(
            stack,
            large_label,
            "toc_bench_reads_10x",
            end,
            [(history * scale, history, False), (history, timedelta(0), True)],
        )
        _report_seed(report, large)
        checkpoint()
        processing_run(large)  # computes the ledger
        log(
            f"measuring reads at {small_label} and {large_label}, interleaved "
            f"(load average {os.getloadavg()[0]:.2f})"
        )
        pair = measure_http([small, large])
        _report_round(report, large_label, pair[1])
        processing: dict[str, list[float]] = {small_label: [], large_label: []}
        for _ in range(PROCESSING_RUNS):
            for target in (small, large):
                processing[target.label].append(processing_run(target))
        _report_queries(report, large, count=False)
        _report_growth(report, small_label, large_label, pair, processing)
        log(f"measuring the dashboard (load average {os.getloadavg()[0]:.2f})")
        dashboard.measure(report, [small, large])
        _explain_misses(report, large, {small_label: alone, large_label: pair[1]})


def _report_seed(report: Report, target: Target) -> None:
    rows, seconds = target.seeded
    report.add(PART, f"seed samples+rollups ({target.label})", rows / seconds, "rows/s")


def _report_round(report: Report, label: str, round_: dict[str, list[float]]) -> None:
    for name, target in (
        ("ledger", TARGET_LEDGER_P95_MS),
        ("series", TARGET_SERIES_P95_MS),
    ):
        p95 = percentile(round_[name], 95) * 1000
        report.add(
            PART, f"{name} p50 ({label})", percentile(round_[name], 50) * 1000, "ms"
        )
        report.add(
            PART, f"{name} p95 ({label})", p95, "ms", f"<= {target:g} ms", p95 <= target
        )


def _report_queries(report: Report, target: Target, *, count: bool) -> None:
    """The SQL of one request of each endpoint (listed once), and the plan of
    the series request's slowest query, so SQL time shows apart from Python."""
    for name in ("ledger", "series"):
        answer = run_inprocess(
            target.env,
            "queries",
            "--path",
            f"/api/v1/systems/{target.slug}/{name}/",
            "--token",
            target.token,
        )
        if count:
            report.add(PART, f"SQL queries per {name} request", answer["count"], "")
            for query in answer["queries"]:
                print(f"    {query['ms']:4.0f} ms  {query['sql'][:110]}")
        if name == "series":
            slowest = max(answer["queries"], key=lambda query: query["ms"])
            report.add(
                PART,
                f"series' slowest SQL, EXPLAIN ANALYZE ({target.label})",
                _explain(target.url, slowest["sql"]),
                "ms",
            )


def _explain(url: str, statement: str) -> float:
    """Prints the plan of `statement` and returns its execution time in ms."""
    with db_connect(url) as conn:
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}").fetchall()
        conn.rollback()
    lines = [line for (line,) in plan]
    print("    " + "\n    ".join(lines))
    return next(
        float(line.split(":")[1].split()[0])
        for line in lines
        if line.startswith("Execution Time")
    )


def _report_growth(
    report: Report,
    small: str,
    large: str,
    pair: list[dict[str, list[float]]],
    processing: dict[str, list[float]],
) -> None:
    report.add(
        PART,
        f"ledger p95 ({small}, interleaved)",
        percentile(pair[0]["ledger"], 95) * 1000,
        "ms",
    )
    report.add(
        PART,
        f"series p95 ({small}, interleaved)",
        percentile(pair[0]["series"], 95) * 1000,
        "ms",
    )
    for name in ("ledger", "series"):
        ratio = percentile(pair[1][name], 95) / percentile(pair[0][name], 95)
        report.add(
            PART,
            f"{name} p95 {large} / {small} (interleaved)",
            ratio,
            "ratio",
            f"<= {TARGET_GROWTH:g}",
            ratio <= TARGET_GROWTH,
        )
        ratio = percentile(pair[1][name], 50) / percentile(pair[0][name], 50)
        report.add(PART, f"{name} p50 {large} / {small} (interleaved)", ratio, "ratio")
    medians = {label: percentile(runs, 50) for label, runs in processing.items()}
    for label in (small, large):
        report.add(
            PART,
            f"processing run, 1 new minute ({label}, median of {PROCESSING_RUNS})",
            medians[label] * 1000,
            "ms",
        )
    report.add(
        PART,
        f"processing run {large} / {small}",
        medians[large] / medians[small],
        "ratio",
    )


def _explain_misses(
    report: Report, target: Target, rounds: dict[str, dict[str, list[float]]]
) -> None:
    """For an endpoint over its target: a cProfile of in-process requests, so the
    time can be split between SQL, Python and rendering."""
    targets = {"ledger": TARGET_LEDGER_P95_MS, "series": TARGET_SERIES_P95_MS}
    for name, limit in targets.items():
        if all(percentile(r[name], 95) * 1000 <= limit for r in rounds.values()):
            continue
        log(f"{name} is over its target; profiling it in-process ({target.label})")
        answer = run_inprocess(
            target.env,
            "profile",
            "--path",
            f"/api/v1/systems/{target.slug}/{name}/",
            "--token",
            target.token,
            "--repeat",
            "20",
        )
        report.add(
            PART,
            f"{name} in-process, no HTTP ({target.label})",
            answer["per_request_ms"],
            "ms/req",
        )
