"""Part 1, ingest: samples/s through the HTTP API against a raw COPY of the same rows.

4 client threads post 500-sample batches (10 stages x 50 distinct timestamps,
10 s apart) to gunicorn (2 workers of 4 threads) with a Celery worker
processing what the batches owe. The timeline is shared: batch k covers the
k-th 500 s, handed out in order, as several senders of one live pipeline would
post. Then the same rows go into an empty metrics_sample with psycopg COPY from
4 threads, 500 rows per commit: what the database alone can take, the ceiling
for the API.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import cpu
from benchmarks.harness import (
    BenchError,
    Report,
    Services,
    bearer,
    bench_database,
    db_connect,
    django_env,
    flush_redis,
    http_request,
    log,
    percentile,
    run_inprocess,
)

PART = "ingest"
STAGES = 10
TICKS_PER_BATCH = 50
BATCH_SIZE = TICKS_PER_BATCH * STAGES
MAX_ATTEMPTS = 3
PROFILE_BATCHES = 13
INTERVAL_S = 10
THREADS = 4
# Issue 14: one set of ingest checks is worth more than the milliseconds of a
# second, faster one; the p95 target went from 60 to 100 ms for it.
TARGET_RATIO = 0.4
TARGET_P95_MS = 100.0
DRAIN_TIMEOUT_S = 180
PHASE_TIMEOUT_S = 600
COPY_COLUMNS = (
    "stage_id",
    "ts",
    "throughput",
    "capacity",
    "utilization",
    "latency_p95_ms",
    "queue_depth",
    "errors",
    "dropped",
    "blocked",
    "failure_mode",
    "received_at",
)


@dataclass
class Batches:
    bodies: list[bytes]  # the API requests
    rows: list[list[tuple]]  # the same samples as COPY rows


def make_batches(stages: list[tuple[str, int]], count: int) -> Batches:
    """`count` batches covering consecutive 500 s stretches ending about now."""
    rng = random.Random(1)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=count * TICKS_PER_BATCH * INTERVAL_S + 60)
    start -= timedelta(seconds=start.second % INTERVAL_S)
    received = now
    bodies: list[bytes] = []
    rows: list[list[tuple]] = []
    queue = [0] * len(stages)
    for batch in range(count):
        samples: list[dict] = []
        batch_rows: list[tuple] = []
        for tick in range(batch * TICKS_PER_BATCH, (batch + 1) * TICKS_PER_BATCH):
            ts = start + timedelta(seconds=tick * INTERVAL_S)
            iso = ts.isoformat()
            for index, (slug, stage_id) in enumerate(stages):
                capacity = 1000.0 + 50 * index
                throughput = round(capacity * rng.uniform(0.4, 0.8), 3)
                utilization = round(throughput / capacity, 4)
                latency = round(rng.uniform(15, 60), 2)
                queue[index] = max(0, queue[index] + rng.randint(-20, 20))
                samples.append(
                    {
                        "stage": slug,
                        "ts": iso,
                        "throughput": throughput,
                        "capacity": capacity,
                        "utilization": utilization,
                        "latency_p95_ms": latency,
                        "queue_depth": queue[index],
                    }
                )
                batch_rows.append(
                    (
                        stage_id,
                        ts,
                        throughput,
                        capacity,
                        utilization,
                        latency,
                        queue[index],
                        0,
                        0,
                        None,
                        "",
                        received,
                    )
                )
        bodies.append(json.dumps({"samples": samples}).encode())
        rows.append(batch_rows)
    return Batches(bodies, rows)


@dataclass
class PhaseResult:
    seconds: float
    latencies: list[float]
    items: int


def run_phase(
    senders: list[Callable[[int], float]],
    warmup: int,
    batches: int,
    items_per_batch: int,
    on_start: Callable[[], None] | None = None,
) -> PhaseResult:
    """Each sender (one per thread) sends `warmup` then `batches` batches.

    Batch indices come from one shared counter, so the timeline advances in
    order whichever thread is faster. Only the measured batches count, timed
    from the moment every thread has finished its warm-up.
    """
    lock = threading.Lock()
    next_index = [0]
    failed = threading.Event()
    errors: list[BaseException] = []
    latencies: list[list[float]] = [[] for _ in senders]
    marks: dict[str, float] = {}

    def mark_start() -> None:
        if on_start is not None:
            on_start()
        marks["start"] = time.perf_counter()

    barrier = threading.Barrier(len(senders), action=mark_start)

    def take() -> int:
        with lock:
            next_index[0] += 1
            return next_index[0] - 1

    def worker(slot: int) -> None:
        try:
            send = senders[slot]
            for _ in range(warmup):
                send(take())
            barrier.wait(timeout=PHASE_TIMEOUT_S)
            deadline = time.monotonic() + PHASE_TIMEOUT_S
            for _ in range(batches):
                if failed.is_set() or time.monotonic() > deadline:
                    return
                latencies[slot].append(send(take()))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            failed.set()
            barrier.abort()

    threads = [
        threading.Thread(target=worker, args=(slot,), daemon=True)
        for slot in range(len(senders))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PHASE_TIMEOUT_S * 2 + 60)
    end = time.perf_counter()
    if errors:
        raise BenchError(f"a sender failed: {errors[0]!r}") from errors[0]
    flat = [value for per_thread in latencies for value in per_thread]
    if len(flat) != len(senders) * batches:
        raise BenchError("the phase ran out of time")
    return PhaseResult(end - marks["start"], flat, len(flat) * items_per_batch)


def _backend_pids(url: str, dbname: str) -> list[int]:
    with db_connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()",
            [dbname],
        ).fetchall()
    return [pid for (pid,) in rows]


def run(report: Report, *, batches: int = 60, warmup: int = 3) -> None:
    dbname = "toc_bench_ingest"
    log(f"ingest: {THREADS} threads x {batches} batches of {BATCH_SIZE} samples")
    with bench_database(dbname) as url:
        env = django_env(url, broker=True)
        info = run_inprocess(env, "setup", "--stages", str(STAGES))
        stages = [(slug, pk) for slug, pk in info["stages"]]
        total = THREADS * (warmup + batches)
        # A few more batches, after the measured ones, for the in-process profile.
        data = make_batches(stages, total + PROFILE_BATCHES)
        log(f"built {total} batches ({len(data.bodies[0]) // 1024} KiB each)")
        path = f"/api/v1/systems/{info['slug']}/samples/"
        headers = bearer(info["ingest_key"])

        flush_redis()
        try:
            with Services(env) as services:
                services.start_gunicorn(workers=2)
                services.start_worker()
                result = _measure_ingest(
                    _sender(services, path, headers, data.bodies),
                    services,
                    url,
                    dbname,
                    batches=batches,
                    warmup=warmup,
                )
                _report_ingest(report, result, batches)
                drained = _wait_drained(url)
                if drained is None:
                    report.note(
                        f"the worker had not processed every pending minute "
                        f"{DRAIN_TIMEOUT_S} s after the last batch"
                    )
                else:
                    report.add(PART, "processing drained after last 202", drained, "s")
        finally:
            flush_redis()

        copy_result = _measure_copy(url, data.rows, batches=batches, warmup=warmup)
        copy_rate = copy_result.items / copy_result.seconds
        report.add(PART, "raw COPY (4 threads, 500-row commits)", copy_rate, "rows/s")
        report.add(
            PART,
            "COPY commit latency p95",
            percentile(copy_result.latencies, 95) * 1000,
            "ms",
        )
        ratio = (result.phase.items / result.phase.seconds) / copy_rate
        ratio_ok = ratio >= TARGET_RATIO
        report.add(
            PART, "ingest / COPY", ratio, "ratio", f">= {TARGET_RATIO}", ratio_ok
        )
        if not ratio_ok or not result.p95_ok:
            _profile(report, env, path, info["ingest_key"], data.bodies[total:])


def _sender(
    services: Services, path: str, headers: dict[str, str], bodies: list[bytes]
) -> Callable[[int], float]:
    """Posts batch `index` until accepted; returns the seconds that took.

    A 5xx is retried, as a real sender would (a retried batch is idempotent);
    each retry is recorded so the report can show it.
    """

    def post(index: int) -> float:
        total = 0.0
        for _ in range(MAX_ATTEMPTS):
            status, body, seconds = http_request(
                services.port, "POST", path, bodies[index], headers
            )
            total += seconds
            if status == 202:
                return total
            if status < 500:
                raise BenchError(f"POST batch {index}: {status} {body[:300]!r}")
            services.retries.append(index)
        raise BenchError(
            f"POST batch {index} failed {MAX_ATTEMPTS} times:\n"
            f"{services.log_tail('gunicorn')}"
        )

    return post


@dataclass
class IngestResult:
    phase: PhaseResult
    cpu: dict[str, float]
    retried: int
    server_errors: dict[str, int]
    p95_ok: bool = True


def _measure_ingest(
    post: Callable[[int], float],
    services: Services,
    url: str,
    dbname: str,
    *,
    batches: int,
    warmup: int,
) -> IngestResult:
    meter: dict[str, object] = {}
    procs = {
        "gunicorn": cpu.tree(services.pid("gunicorn")),
        "celery worker": cpu.tree(services.pid("worker")),
    }

    def start_meter() -> None:
        # After the warm-up, so gunicorn's database connections exist and
        # their backends can be metered too.
        groups = {**procs, "postgres backends": _backend_pids(url, dbname)}
        meter.update(groups=groups, before=cpu.snapshot(groups), self=cpu.self_cpu())

    phase = run_phase([post] * THREADS, warmup, batches, BATCH_SIZE, start_meter)
    used = cpu.used(meter["before"], cpu.snapshot(meter["groups"]))
    used["client (this process)"] = cpu.self_cpu() - meter["self"]
    # What the failed requests died of, from the server's own log.
    log_text = services.log_tail("gunicorn", chars=10_000_000)
    errors = {
        line.strip()[:160]: log_text.count(line)
        for line in dict.fromkeys(
            line
            for line in log_text.splitlines()
            if line.startswith(("django.db.utils.", "CONTEXT:"))
        )
    }
    return IngestResult(phase, used, len(services.retries), errors)


def _report_ingest(report: Report, result: IngestResult, batches: int) -> None:
    phase = result.phase
    rate = phase.items / phase.seconds
    p95_ms = percentile(phase.latencies, 95) * 1000
    log(f"ingest: {phase.items} samples in {phase.seconds:.2f}s")
    report.add(PART, "API ingest (4 threads, 500/batch)", rate, "samples/s")
    report.add(
        PART, "request latency p50", percentile(phase.latencies, 50) * 1000, "ms"
    )
    result.p95_ok = p95_ms <= TARGET_P95_MS
    report.add(
        PART,
        "request latency p95",
        p95_ms,
        "ms",
        f"<= {TARGET_P95_MS:g} ms",
        result.p95_ok,
    )
    report.add(
        PART,
        "batches answered 5xx, then retried",
        result.retried,
        "batches",
        "0",
        result.retried == 0,
    )
    for line, count in result.server_errors.items():
        report.note(f"server log, {count}x: {line}")
    requests = THREADS * batches
    split = ", ".join(
        f"{name} {seconds / requests * 1000:.1f}"
        for name, seconds in result.cpu.items()
    )
    report.note(
        f"ingest CPU ms per 500-sample request: {split} "
        f"(2 cores = {2 * phase.seconds / requests * 1000:.1f} ms available)"
    )


def _wait_drained(url: str) -> float | None:
    """Seconds until the worker has processed every pending minute."""
    started = time.perf_counter()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    with db_connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            pending = conn.execute("SELECT count(*) FROM metrics_pendingminute")
            queued = conn.execute(
                "SELECT count(*) FROM metrics_systemledger WHERE queued"
            )
            if pending.fetchone()[0] == 0 and queued.fetchone()[0] == 0:
                return time.perf_counter() - started
            time.sleep(0.2)
    return None


def _measure_copy(
    url: str, rows: list[list[tuple]], *, batches: int, warmup: int
) -> PhaseResult:
    log("COPY baseline: emptying metrics_sample")
    with db_connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE metrics_sample")
        conn.execute("VACUUM ANALYZE metrics_sample")
    conns = [db_connect(url) for _ in range(THREADS)]
    columns = ", ".join(COPY_COLUMNS)
    try:

        def sender(slot: int) -> Callable[[int], float]:
            conn = conns[slot]

            def send(index: int) -> float:
                started = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY metrics_sample ({columns}) FROM STDIN") as copy,
                ):
                    for row in rows[index]:
                        copy.write_row(row)
                conn.commit()
                return time.perf_counter() - started

            return send

        return run_phase(
            [sender(slot) for slot in range(THREADS)], warmup, batches, BATCH_SIZE
        )
    finally:
        for conn in conns:
            conn.close()


def _profile(
    report: Report, env: dict[str, str], path: str, key: str, bodies: list[bytes]
) -> None:
    """Where one batch's time goes, in-process: the request, then its processing."""
    log("ingest missed a target: profiling request and processing in-process")
    with tempfile.TemporaryDirectory(prefix="toc-bench-") as tmp:
        bodies_file = Path(tmp) / "bodies.json"
        bodies_file.write_text(json.dumps([body.decode() for body in bodies]))
        flush_redis()
        try:
            answer = run_inprocess(
                env,
                "profile-ingest",
                "--path",
                path,
                "--token",
                key,
                "--bodies",
                str(bodies_file),
            )
        finally:
            flush_redis()
    report.add(PART, "in-process POST, 1 at a time", answer["post_ms"], "ms/batch")
    report.add(
        PART, "in-process processing run per batch", answer["process_ms"], "ms/batch"
    )
