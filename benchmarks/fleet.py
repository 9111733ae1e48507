"""Part fleet: N systems of 8 stages posting live, each every 10 s (issue 19).

Every system posts, once per 10 s of wall time, one sample per stage stamped
with that 10-second tick (8 samples; about 69,000 rows per system per day).
The systems are spread evenly over the 10 s, so the load is smooth. Each
posts with its own ingest key, as a pipeline does. One stage per system is the
constraint (near full utilization, a queue that keeps growing), a different
one from system to system, so every ledger has something to say.

gunicorn (the deployed settings, 2 workers) and 2 Celery workers (two solo
processes on the same queue by default, as two machines would run them) on
Redis db 14. No Celery beat: the sweeper only resends work a lost task left,
which a steady run does not have.

After a warm-up (1 minute by default, not measured) the part measures POST
latency, the time from each batch's 202 to the ledger row whose `window_end`
covers the batch (`computed_at`, stamped by the worker on the same clock), the
CPU of every process group from /proc, and the growth of the database.

`python -m benchmarks.fleet setup --systems N` (Django loaded, run by the
driver in the bench database's environment) creates the team and the systems.
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import json
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from benchmarks import cpu
from benchmarks.harness import (
    HOST,
    PROXY_HEADERS,
    REQUEST_TIMEOUT_S,
    Report,
    Services,
    bench_database,
    db_connect,
    django_env,
    flush_redis,
    log,
    percentile,
    run_inprocess,
)
from benchmarks.storage import metrics_bytes

PART = "fleet"
DBNAME = "toc_bench_fleet"
STAGES = 8
INTERVAL_S = 10
# The ledger table's changed rows are read this often; each change of a row
# is one observation, so this is the granularity of "first seen".
POLL_S = 0.15
# A worker stamps computed_at just before it commits: a row can become visible
# a little after a newer computed_at of another system, so each poll looks
# back this far rather than only past the newest it saw.
POLL_LOOKBACK_S = 2.0
# After the measured window, systems go on posting (the load stays what it
# was) until every measured batch is in the ledger, or this long.
GRACE_S = 30.0
# Rows rewritten or deleted by every processing run: with autovacuum off (as
# on the benchmark's server) their dead versions pile up, which in production
# vacuum reclaims; they hold one row per system, or per owed minute.
REWRITTEN_TABLES = ("metrics_systemledger", "metrics_pendingminute")
TARGET_WORKER_MS = 30.0
TARGET_LEDGER_P95_MS = 2000.0


@dataclass
class Fleet:
    """What the setup made: per system its slug, id and ingest key."""

    slugs: list[str]
    ids: list[int]
    keys: list[str]


class Post(NamedTuple):
    """One POST of one system's batch; times in epoch seconds."""

    system: int  # index in the Fleet
    tick: float  # the samples' ts
    due: float  # its moment in the schedule
    sent: float
    seconds: float  # to the answer
    status: int  # 0: no answer


# -- the systems' samples --------------------------------------------------------------

_SAMPLE = (
    '{"stage":"s%d","ts":"%s","capacity":%.1f,"throughput":%.3f,'
    '"utilization":%.4f,"latency_p95_ms":%.2f,"queue_depth":%d}'
)


@dataclass
class Profile:
    """How one system behaves: its constraint and each stage's capacity."""

    constraint: int
    capacities: list[float]
    queue_growth: float  # records per second at the constraint

    @classmethod
    def of(cls, index: int, rng: random.Random) -> Profile:
        constraint = (index * 3 + 1) % STAGES
        capacities = [
            rng.uniform(400, 600) if stage == constraint else rng.uniform(900, 1500)
            for stage in range(STAGES)
        ]
        return cls(constraint, capacities, rng.uniform(2, 6))

    def body(self, ts: str, elapsed: float, rng: random.Random) -> bytes:
        samples = []
        for stage, capacity in enumerate(self.capacities):
            if stage == self.constraint:
                utilization = rng.uniform(0.95, 0.99)
                latency = rng.uniform(200, 300)
                depth = 100 + int(self.queue_growth * elapsed)
            else:
                utilization = rng.uniform(0.35, 0.6)
                latency = rng.uniform(20, 40)
                depth = rng.randint(10, 30)
            samples.append(
                _SAMPLE
                % (
                    stage,
                    ts,
                    capacity,
                    capacity * utilization,
                    utilization,
                    latency,
                    depth,
                )
            )
        return ('{"samples":[' + ",".join(samples) + "]}").encode()


# -- the client ------------------------------------------------------------------------


class Sender:
    """One keep-alive connection to gunicorn, reopened when the server closed it."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)

    def post(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, float]:
        """(status, seconds to the answer); status 0 if none came."""
        status, seconds = self._attempt(path, body, headers)
        if status == 0:
            # gunicorn closes a connection idle for 2 s (its keepalive), so a
            # reused one may be gone. A batch is idempotent: resend it once.
            status, seconds = self._attempt(path, body, headers)
        return status, seconds

    def _attempt(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            return response.status, time.perf_counter() - started
        except (http.client.HTTPException, OSError):
            self.conn.close()  # the next request opens a new one
            return 0, time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def _threads_for(systems: int) -> int:
    # 1,000 systems post 100 times a second; at ~50 ms each, 5 are in flight
    # on average, but they bunch up when the server stalls: room for that.
    return min(64, max(4, systems // 16))


class Client:
    """Posts every system's batch at its moment of every 10 s, from a pool."""

    def __init__(self, port: int, fleet: Fleet, start: float) -> None:
        self.port = port
        self.fleet = fleet
        self.start = start
        # Appended from the sender threads (list.append is atomic).
        self.posts: list[Post] = []
        self.stop = threading.Event()
        self._jobs: queue.Queue[tuple[int, float, float] | None] = queue.Queue()
        rng = random.Random(19)
        self._profiles = [Profile.of(index, rng) for index in range(len(fleet.ids))]
        self._paths = [f"/api/v1/systems/{slug}/samples/" for slug in fleet.slugs]
        self._headers = [
            {
                **PROXY_HEADERS,
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
            }
            for key in fleet.keys
        ]
        self._ts_text: dict[float, str] = {}
        self._threads = [
            threading.Thread(target=self._schedule, name="schedule", daemon=True)
        ] + [
            threading.Thread(target=self._send, args=(slot,), daemon=True)
            for slot in range(_threads_for(len(fleet.ids)))
        ]

    @property
    def thread_count(self) -> int:
        return len(self._threads) - 1

    def __enter__(self) -> Client:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)

    def _schedule(self) -> None:
        count = len(self.fleet.ids)
        offsets = [index * INTERVAL_S / count for index in range(count)]
        tick = self.start
        while not self.stop.is_set():
            for index, offset in enumerate(offsets):
                due = tick + offset
                wait = due - time.time()
                if wait > 0 and self.stop.wait(wait):
                    return
                self._jobs.put((index, tick, due))
            tick += INTERVAL_S

    def _send(self, slot: int) -> None:
        sender = Sender(self.port)
        rng = random.Random(slot)
        try:
            while (job := self._jobs.get()) is not None:
                if self.stop.is_set():
                    return
                index, tick, due = job
                ts = self._ts_text.get(tick)
                if ts is None:
                    ts = self._ts_text[tick] = datetime.fromtimestamp(
                        tick, UTC
                    ).isoformat()
                body = self._profiles[index].body(ts, tick - self.start, rng)
                sent = time.time()
                status, seconds = sender.post(
                    self._paths[index], body, self._headers[index]
                )
                self.posts.append(Post(index, tick, due, sent, seconds, status))
        finally:
            sender.close()


class LedgerWatch:
    """Reads the ledger table every POLL_S and keeps each row's changes."""

    def __init__(self, url: str, fleet: Fleet) -> None:
        self.conn = db_connect(url, autocommit=True)
        self.backend_pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self._index = {system_id: index for index, system_id in enumerate(fleet.ids)}
        count = len(fleet.ids)
        # Per system: window_end, computed_at and when this poll saw it (epoch s).
        self.window_ends: list[list[float]] = [[] for _ in range(count)]
        self.computed: list[list[float]] = [[] for _ in range(count)]
        self.seen: list[list[float]] = [[] for _ in range(count)]
        self.polls = 0
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)

    def __enter__(self) -> LedgerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=10)
        self.conn.close()

    def _run(self) -> None:
        newest = 0.0
        while not self.stop.wait(POLL_S):
            since = datetime.fromtimestamp(newest - POLL_LOOKBACK_S, UTC)
            rows = self.conn.execute(
                "SELECT system_id, window_end, computed_at FROM metrics_systemledger "
                "WHERE window_end IS NOT NULL AND computed_at > %s",
                [since],
            ).fetchall()
            seen = time.time()
            self.polls += 1
            for system_id, window_end, computed_at in rows:
                index = self._index.get(system_id)
                if index is None:
                    continue
                end, computed = window_end.timestamp(), computed_at.timestamp()
                newest = max(newest, computed)
                ends = self.window_ends[index]
                if not ends or end > ends[-1]:
                    ends.append(end)
                    self.computed[index].append(computed)
                    self.seen[index].append(seen)

    def first_covering(self, index: int, tick: float) -> tuple[float, float] | None:
        """(computed_at, seen) of the first ledger of system `index` covering
        `tick`, or None if none was seen."""
        ends = self.window_ends[index]
        at = bisect.bisect_left(ends, tick)
        if at == len(ends):
            return None
        return self.computed[index][at], self.seen[index][at]


# -- measuring -------------------------------------------------------------------------


class BackendMeter:
    """CPU of the bench database's backends over a window, ended ones included.

    Django reconnects every 60 s (CONN_MAX_AGE), so backends end within the
    window and a dead process's CPU cannot be read: each backend's CPU is read
    every second, and its last reading counts. One that began during the
    window counts whole.
    """

    def __init__(self, url: str, exclude: set[int]) -> None:
        self.conn = db_connect(url, autocommit=True)
        self.exclude = exclude | {_own_pid(self.conn)}
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backends", daemon=True)

    def __enter__(self) -> BackendMeter:
        self._first = self._read()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._update()
        self.conn.close()
        self.seconds = sum(
            max(0.0, last - self._first[pid]) for pid, last in self._last.items()
        )

    def _read(self) -> dict[int, float]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()
        pids = [pid for (pid,) in rows if pid not in self.exclude]
        return cpu.snapshot({"backends": pids})["backends"]

    def _update(self) -> None:
        for pid, seconds in self._read().items():
            self._first.setdefault(pid, 0.0)
            # A backend that ended since the query reads as 0: keep the last.
            self._last[pid] = max(self._last.get(pid, 0.0), seconds)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._update()


def _sizes(conn) -> dict[str, int]:
    """The database's size and that of the samples and rollups, partitions too."""
    database = conn.execute("SELECT pg_database_size(current_database())")
    return {"database": int(database.fetchone()[0]), **metrics_bytes(conn)}


def _compacted_sizes(conn) -> dict[str, int]:
    """The sizes once the samples and rollups are rewritten without dead rows.

    Every batch re-rolls its minute, and each re-roll leaves a dead version of
    the rollup row; production's autovacuum reclaims them, this server has it
    off. Rewritten, the tables hold what the whole run (warm-up included) keeps.
    """
    started = time.monotonic()
    conn.execute("VACUUM FULL metrics_sample, metrics_rollup")
    log(f"fleet: samples and rollups compacted in {time.monotonic() - started:.1f}s")
    return _sizes(conn)


def _table_sizes(conn) -> dict[str, int]:
    """Every table's size with its indexes and TOAST, partitions one by one."""
    rows = conn.execute(
        "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables"
    ).fetchall()
    return {name: int(size) for name, size in rows}


@dataclass
class Meter:
    """CPU of every process group and the database's size, at one moment."""

    procs: dict[str, dict[int, float]]
    client: float
    sizes: dict[str, int]
    tables: dict[str, int]
    at: float

    @classmethod
    def read(cls, groups: dict[str, list[int]], conn) -> Meter:
        return cls(
            procs=cpu.snapshot(groups),
            client=cpu.self_cpu(),
            sizes=_sizes(conn),
            tables=_table_sizes(conn),
            at=time.time(),
        )


def _own_pid(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def _cpu_between(before: Meter, after: Meter) -> dict[str, float]:
    used = cpu.used(before.procs, after.procs)
    used["client (this process)"] = after.client - before.client
    return used


def _expected_posts(systems: int, start: float, first: float, last: float) -> int:
    """How many batches the schedule makes due in [first, last)."""
    ticks = range(int(start), int(last) + 1, INTERVAL_S)
    return sum(
        first <= tick + index * INTERVAL_S / systems < last
        for tick in ticks
        for index in range(systems)
    )


def _wait_until(moment: float, stop_if: Callable[[], bool] = lambda: False) -> None:
    while (left := moment - time.time()) > 0 and not stop_if():
        time.sleep(min(left, 1.0))


# -- the part --------------------------------------------------------------------------


def run(
    report: Report,
    *,
    systems: list[int],
    minutes: float = 2.0,
    warmup_minutes: float = 1.0,
    celery_workers: int = 2,
    celery_pool: str = "solo",
) -> None:
    for count in systems:
        _run_size(
            report,
            systems=count,
            minutes=minutes,
            warmup_minutes=warmup_minutes,
            celery_workers=celery_workers,
            celery_pool=celery_pool,
        )


def _run_size(
    report: Report,
    *,
    systems: int,
    minutes: float,
    warmup_minutes: float,
    celery_workers: int,
    celery_pool: str,
) -> None:
    part = f"{PART} {systems}"
    log(
        f"fleet: {systems} systems x {STAGES} stages every {INTERVAL_S} s, "
        f"{warmup_minutes:g} min warm-up, {minutes:g} min measured"
    )
    with bench_database(DBNAME) as url:
        env = django_env(url, broker=True)
        started = time.monotonic()
        info = run_inprocess(
            env, "setup", "--systems", str(systems), module="benchmarks.fleet"
        )
        fleet = Fleet(*map(list, zip(*info["systems"], strict=True)))
        log(f"{systems} systems made in {time.monotonic() - started:.1f}s")
        flush_redis()
        try:
            with Services(env) as services:
                services.start_gunicorn(workers=2)
                if celery_pool == "solo":
                    workers = [f"worker{n}" for n in range(1, celery_workers + 1)]
                    for name in workers:
                        services.start_worker(name)
                else:
                    workers = ["worker"]
                    services.start_worker("worker", concurrency=celery_workers)
                _measure(
                    report,
                    part,
                    services,
                    url,
                    fleet,
                    workers,
                    minutes=minutes,
                    warmup_minutes=warmup_minutes,
                )
        finally:
            flush_redis()
    if celery_pool == "solo":
        worker_text = f"{celery_workers} solo Celery workers on one queue"
    else:
        worker_text = f"one Celery worker, prefork x{celery_workers}"
    report.note(
        f"{part}: gunicorn 2 workers, {worker_text}; no Celery beat (its sweeper "
        "only resends work of lost tasks)"
    )


def _measure(
    report: Report,
    part: str,
    services: Services,
    url: str,
    fleet: Fleet,
    workers: list[str],
    *,
    minutes: float,
    warmup_minutes: float,
) -> None:
    systems = len(fleet.ids)
    # The first tick a little ahead, so every thread is up before it.
    start = (time.time() // INTERVAL_S + 1) * INTERVAL_S
    measure_from = start + warmup_minutes * 60
    measure_to = measure_from + minutes * 60
    conn = db_connect(url, autocommit=True)
    try:
        with (
            LedgerWatch(url, fleet) as watch,
            Client(services.port, fleet, start) as client,
        ):
            log(f"fleet: {client.thread_count} sender threads; warming up")
            _wait_until(measure_from)
            names = ["gunicorn", *workers]
            groups = {name: cpu.tree(services.pid(name)) for name in names}
            exclude = {watch.backend_pid, _own_pid(conn)}
            before = Meter.read(groups, conn)
            load_before = os.getloadavg()[0]
            log(f"fleet: measuring {minutes:g} min (load average {load_before:.2f})")
            with BackendMeter(url, exclude) as backends:
                _wait_until(measure_to)
            after = Meter.read(groups, conn)
            load_after = os.getloadavg()
            expected = _expected_posts(systems, start, measure_from, measure_to)

            def measured_posts() -> list[Post]:
                posts = list(client.posts)
                return [post for post in posts if measure_from <= post.due < measure_to]

            def all_visible() -> bool:
                measured = measured_posts()
                return len(measured) == expected and all(
                    watch.first_covering(post.system, post.tick) is not None
                    for post in measured
                    if post.status == 202
                )

            log("fleet: measured; waiting for the last batches in the ledger")
            _wait_until(measure_to + GRACE_S, all_visible)
            measured = measured_posts()
        posted = len(client.posts)
        compact = _compacted_sizes(conn)
    finally:
        conn.close()

    seconds = after.at - before.at
    if len(measured) < expected:
        report.note(
            f"{part}: {expected - len(measured)} of {expected} batches due in the "
            "window were not sent in time (the client fell behind)"
        )
    _report_posts(report, part, measured, seconds)
    _report_ledger(report, part, measured, watch)
    used = _cpu_between(before, after)
    used["postgres backends"] = backends.seconds
    worker_s = sum(used[name] for name in workers)
    system_minutes = systems * seconds / 60
    worker_ms = worker_s * 1000 / system_minutes
    report.add(
        part,
        "worker CPU per system-minute",
        worker_ms,
        "ms",
        f"<= {TARGET_WORKER_MS:g} ms",
        worker_ms <= TARGET_WORKER_MS,
    )
    report.add(part, "worker CPU, cores busy", worker_s / seconds, "cores")
    requests = max(1, len(measured))
    for name in ("gunicorn", "postgres backends", "client (this process)"):
        report.add(part, f"{name} CPU per POST", used[name] * 1000 / requests, "ms")
    report.add(part, "load average (1 min) at the end", load_after[0], "")
    if len(workers) > 1:
        split = ", ".join(f"{name} {used[name]:.1f} s" for name in workers)
        report.note(f"{part}: worker CPU over {seconds:.0f} s: {split}")
    report.note(
        f"{part}: PostgreSQL backends serve gunicorn and the workers alike; "
        f"load average {load_before:.2f} at the start, "
        f"{'/'.join(f'{x:.2f}' for x in load_after)} (1/5/15 min) at the end"
    )
    _report_growth(report, part, before, after, systems, requests)
    # Each POST is 10 s of one system's samples.
    posted_days = posted * INTERVAL_S / 86400
    report.add(
        part,
        "samples + rollups per system-day, compacted",
        (compact["metrics_sample"] + compact["metrics_rollup"]) / posted_days / 2**20,
        "MiB",
    )


def _report_posts(
    report: Report, part: str, measured: list[Post], seconds: float
) -> None:
    latencies = [post.seconds * 1000 for post in measured]
    statuses = Counter(post.status for post in measured)
    late = [post.sent - post.due for post in measured]
    report.add(part, "POSTs (8 samples each)", len(measured), "")
    report.add(part, "POST rate", len(measured) / seconds, "/s")
    report.add(part, "POST latency p50", percentile(latencies, 50), "ms")
    report.add(part, "POST latency p95", percentile(latencies, 95), "ms")
    report.add(part, "POST latency max", max(latencies, default=0), "ms")
    not_accepted = len(measured) - statuses[202]
    report.add(part, "answers other than 202", not_accepted, "", "0", not_accepted == 0)
    report.add(part, "sent after its moment, p95", percentile(late, 95) * 1000, "ms")
    if not_accepted:
        report.note(
            f"{part}: answers by status (0 = none): "
            + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
        )


def _report_ledger(
    report: Report, part: str, measured: list[Post], watch: LedgerWatch
) -> None:
    processed, visible, missing = [], [], 0
    for post in measured:
        if post.status != 202:
            continue
        found = watch.first_covering(post.system, post.tick)
        if found is None:
            missing += 1
            continue
        acked = post.sent + post.seconds
        processed.append((found[0] - acked) * 1000)
        visible.append((found[1] - acked) * 1000)
    p95 = percentile(processed, 95)
    report.add(part, "202 -> ledger computed_at p50", percentile(processed, 50), "ms")
    report.add(
        part,
        "202 -> ledger computed_at p95",
        p95,
        "ms",
        f"<= {TARGET_LEDGER_P95_MS:g} ms",
        p95 <= TARGET_LEDGER_P95_MS,
    )
    report.add(part, "202 -> ledger computed_at max", max(processed, default=0), "ms")
    report.add(part, "202 -> seen by the poller p95", percentile(visible, 95), "ms")
    report.add(
        part,
        f"batches not in the ledger {GRACE_S:g} s after",
        missing,
        "",
        "0",
        missing == 0,
    )


def _report_growth(
    report: Report,
    part: str,
    before: Meter,
    after: Meter,
    systems: int,
    requests: int,
) -> None:
    system_days = systems * (after.at - before.at) / 86400
    grown = {name: after.sizes[name] - before.sizes[name] for name in after.sizes}
    tables = grown["metrics_sample"] + grown["metrics_rollup"]
    report.add(
        part,
        "database growth per system-day",
        grown["database"] / system_days / 2**20,
        "MiB",
    )
    by_table = {
        name: size - before.tables.get(name, 0) for name, size in after.tables.items()
    }
    churn = sum(by_table.get(name, 0) for name in REWRITTEN_TABLES)
    report.add(
        part,
        "database growth, less ledger/pending churn",
        (grown["database"] - churn) / system_days / 2**20,
        "MiB",
    )
    report.add(
        part, "samples + rollups per system-day", tables / system_days / 2**20, "MiB"
    )
    report.add(
        part,
        "sample table per sample row",
        grown["metrics_sample"] / (requests * STAGES),
        "bytes",
    )
    report.note(
        f"{part}: over the window the database grew {grown['database'] / 2**20:.1f} "
        f"MiB, metrics_sample {grown['metrics_sample'] / 2**20:.1f} MiB, "
        f"metrics_rollup {grown['metrics_rollup'] / 2**20:.1f} MiB "
        f"(pages are allocated in steps: short runs overstate or understate)"
    )
    largest = sorted(by_table.items(), key=lambda item: -item[1])[:5]
    report.note(
        f"{part}: tables that grew most: "
        + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in largest)
    )


# -- set-up, with Django loaded ----------------------------------------------------


def setup(systems: int) -> dict:
    """A team and `systems` systems of STAGES stages, each with an ingest key,
    made the way the product makes them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")
    import django

    django.setup()
    from django.db import transaction

    from toc.accounts.models import Team
    from toc.systems.models import IngestKey
    from toc.systems.services import system_create

    stages = [(f"Stage {stage}", f"s{stage}") for stage in range(STAGES)]
    made = []
    with transaction.atomic():
        team = Team.objects.create(name="Fleet", slug="fleet")
        for index in range(systems):
            system = system_create(
                team=team,
                name=f"Pipeline {index:04d}",
                slug=f"p{index:04d}",
                stages=stages,
            )
            _, key = IngestKey.issue(system=system, name="fleet")
            made.append([system.slug, system.pk, key])
    return {"systems": made}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup").add_argument("--systems", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(setup(args.systems)))


if __name__ == "__main__":
    main()
