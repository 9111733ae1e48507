"""Two Celery workers, each a node on a queue of its own, share the processing
of systems: a system sent to both at once is processed by one while the other
waits on its lock, and what they leave is what one run in this process leaves."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import StageFactory, SystemFactory
from tests.faults.conftest import report
from tests.faults.services import postgres_or_skip, wait_until
from tests.metrics.samples import steady_pipeline
from tests.worker import running_worker
from toc.metrics.ingest import samples_store, validate_batch
from toc.metrics.models import (
    ConstraintEvent,
    ConstraintFinding,
    PendingMinute,
    Rollup,
    SystemLedger,
)
from toc.metrics.processing import system_process
from toc.metrics.rollups import ROLLUP_SUMS
from toc.metrics.tasks import process_system
from toc.systems.models import Stage, System

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SAMPLE_INTERVAL_S = 10
LOCK_CLASS = 7001  # toc.metrics.processing's advisory lock, keyed by system


@dataclass
class Worker:
    queue: str
    log: Path

    def lines(self, *texts: str) -> list[str]:
        """The lines of the worker's log that hold every one of `texts`."""
        return [
            line
            for line in self.log.read_text().splitlines()
            if all(text in line for text in texts)
        ]

    def succeeded(self) -> int:
        return len(self.lines("metrics.process_system[", "succeeded"))

    def failures(self) -> list[str]:
        """Errors, and tasks that failed or were retried (a deadlock would be)."""
        return (
            self.lines("ERROR")
            + self.lines("raised unexpected")
            + self.lines("Retry in")
        )


@pytest.fixture
def workers(tmp_path, monkeypatch) -> Iterator[tuple[Worker, Worker]]:
    """Two solo workers logging at INFO, both ready; this process sends no
    processing of its own when it stores samples."""
    postgres_or_skip()
    monkeypatch.setattr(
        "toc.metrics.ingest.storage.enqueue_processing", lambda system_id: None
    )
    pair = tuple(
        Worker(queue=f"toc-two-{name}-{uuid.uuid4().hex[:8]}", log=tmp_path / name)
        for name in ("a", "b")
    )
    with ExitStack() as stack:
        for worker in pair:
            stack.enter_context(
                running_worker(queue=worker.queue, log=worker.log, loglevel="INFO")
            )

        def both_ready() -> bool:
            return all(worker.lines(" ready.") for worker in pair)

        wait_until(both_ready, timeout=30, step=0.1)
        yield pair


def _system(slug: str, stages: list[str]) -> System:
    system = SystemFactory(slug=slug)
    for stage in stages:
        StageFactory(system=system, slug=stage, name=stage.title())
    return system


def _store(system: System, samples: list[dict]) -> None:
    """Stores the samples as ingest does, leaving their minutes owed."""
    stage_ids = dict(Stage.objects.filter(system=system).values_list("slug", "pk"))
    batch = validate_batch(samples, stage_ids, now=timezone.now())
    samples_store(system=system, batch=batch)


def _with_a_move(
    stages: list[str], start: datetime, minutes: int, first: str, then: str
) -> list[dict]:
    """`first` holds the constraint for half the time, then `then` takes it."""
    half = minutes // 2
    return steady_pipeline(
        stages, start, half, {first: 0.95}, SAMPLE_INTERVAL_S, growing=first
    ) + steady_pipeline(
        stages,
        start + timedelta(minutes=half),
        minutes - half,
        {then: 0.97},
        SAMPLE_INTERVAL_S,
        growing=then,
    )


def _derived(system: System) -> dict:
    """Everything processing derives for a system, by stage slug, without ids
    or computation times, so that two systems of the same samples compare."""
    ledger = SystemLedger.objects.get(system=system)
    return {
        "rollups": list(
            Rollup.objects.filter(stage__system=system)
            .order_by("stage__slug", "minute")
            .values_list("stage__slug", "minute", *ROLLUP_SUMS, "failure_modes")
        ),
        "findings": list(
            ConstraintFinding.objects.filter(system=system)
            .order_by("minute")
            .values_list(
                "minute",
                "stage",
                "headroom",
                "confirmed",
                "candidate",
                "candidate_since",
                "confirmed_since",
            )
        ),
        "events": list(
            ConstraintEvent.objects.filter(system=system)
            .order_by("at")
            .values_list(
                "at", "decided_minute", "from_stage", "to_stage", "reason", "evidence"
            )
        ),
        "ledger": (ledger.window_end, ledger.payload),
    }


def _advisory_locks(system: System) -> list[tuple[int, bool]]:
    """(backend pid, granted) of every hold of or wait for the system's lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s AND objid = %s AND objsubid = 2 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_CLASS, system.pk],
        )
        return cursor.fetchall()


def _one_holds_while_another_waits(system: System, timeout: float) -> tuple[int, int]:
    """The pids of a backend holding the system's lock and of one waiting for
    it, seen at the same moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        locks = _advisory_locks(system)
        holders = [pid for pid, granted in locks if granted]
        waiters = [pid for pid, granted in locks if not granted]
        if holders and waiters:
            return holders[0], waiters[0]
        time.sleep(0.002)
    pytest.fail(f"No two backends contended for system {system.pk}'s lock")


def test_one_system_sent_to_both_workers_is_processed_once(workers) -> None:
    # Six hours of eight stages owed at once: a run long enough to be caught.
    stages = [f"stage-{n}" for n in range(8)]
    start = (timezone.now() - timedelta(hours=7)).replace(second=0, microsecond=0)
    minutes = 360
    samples = _with_a_move(stages, start, minutes, first="stage-2", then="stage-4")
    shared, alone = _system("shared", stages), _system("alone", stages)
    _store(shared, samples)
    _store(alone, samples)
    owed = PendingMinute.objects.filter(system=shared).count()
    began = time.monotonic()
    system_process(system_id=alone.pk)
    one_run = time.monotonic() - began

    began = time.monotonic()
    for worker in workers:
        process_system.apply_async((shared.pk,), queue=worker.queue)
    holder, waiter = _one_holds_while_another_waits(shared, timeout=10)

    def both_ran() -> bool:
        return all(worker.succeeded() == 1 for worker in workers)

    wait_until(both_ran, timeout=40, step=0.05)
    elapsed = time.monotonic() - began
    assert holder != waiter
    assert connection.connection.info.backend_pid not in (holder, waiter)
    assert not _advisory_locks(shared)
    assert not PendingMinute.objects.filter(system=shared).exists()
    assert [worker.failures() for worker in workers] == [[], []]

    result = _derived(shared)
    assert result == _derived(alone)
    # Each minute rolled up once from its six samples, each minute judged once.
    assert len(result["rollups"]) == len(stages) * minutes
    assert {rollup[4] for rollup in result["rollups"]} == {60 // SAMPLE_INTERVAL_S}
    judged = [finding[0] for finding in result["findings"]]
    assert len(judged) == len(set(judged))
    # One event per change of the confirmed constraint, the move among them.
    confirmed = [finding[3] for finding in result["findings"]]
    before = ["", *confirmed[:-1]]
    changes = [(a, b) for a, b in zip(before, confirmed, strict=True) if a != b]
    moves = [(event[2], event[3]) for event in result["events"]]
    assert moves == changes
    assert ("stage-2", "stage-4") in moves
    report(
        f"two workers, one system ({len(samples)} samples, {owed} owed "
        f"stage-minutes): backend {holder} held the lock while {waiter} waited; "
        f"both tasks done in {elapsed:.1f} s (one run in-process: {one_run:.1f} s); "
        "results equal to the single run"
    )


def test_many_systems_sent_to_both_workers_repeatedly_are_each_processed_as_once(
    workers,
) -> None:
    stages = ["ingest", "features", "inference"]
    start = (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    pairs = []
    for n in range(20):
        samples = _with_a_move(
            stages, start, 16, first=stages[n % 3], then=stages[(n + 1) % 3]
        )
        shared, alone = _system(f"shared-{n}", stages), _system(f"alone-{n}", stages)
        _store(shared, samples)
        _store(alone, samples)
        pairs.append((shared, alone))
    for _, alone in pairs:
        system_process(system_id=alone.pk)

    began = time.monotonic()
    sends = 0
    for round_ in range(3):
        for n, (shared, _) in enumerate(pairs):
            # Both workers, in turns, so each system is in both queues at once.
            first, second = workers if (n + round_) % 2 else workers[::-1]
            for worker in (first, second):
                process_system.apply_async((shared.pk,), queue=worker.queue)
                sends += 1

    def all_ran() -> bool:
        return sum(worker.succeeded() for worker in workers) == sends

    wait_until(all_ran, timeout=40, step=0.05)
    elapsed = time.monotonic() - began
    ran = [worker.succeeded() for worker in workers]
    assert all(ran), f"tasks ran on one node only: {ran}"
    assert [worker.failures() for worker in workers] == [[], []]
    assert not PendingMinute.objects.exists()
    for shared, alone in pairs:
        assert _derived(shared) == _derived(alone), shared.slug
    report(
        f"two workers, {len(pairs)} systems each sent {sends // len(pairs)} times: "
        f"{ran[0]} + {ran[1]} tasks on the two nodes in {elapsed:.1f} s; "
        "every system's results equal to its single run"
    )
