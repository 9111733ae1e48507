"""A worker is killed with SIGKILL in the middle of processing."""

from __future__ import annotations

import os
import signal
import time

from tests.faults.conftest import batches, report
from tests.faults.services import child_pids, post_samples, stack, wait_until
from toc.metrics.models import PendingMinute
from toc.metrics.processing import system_process, systems_in_processing

# Six hours of samples owed at once: processing them takes seconds, long enough
# to be caught in the act.
BACKLOG = (12, 30)


def _post_backlog(url: str, pipeline) -> int:
    posted = 0
    for batch in batches(*BACKLOG, hours_ago=7):
        assert post_samples(url, "live", pipeline.key, batch).status == 202
        posted += len(batch)
    return posted


def _kill_mid_task(pipeline, pid_of: callable) -> tuple[int, float]:
    """SIGKILLs the process running the task while its transaction is open."""

    def processing_started() -> bool:
        return pipeline.system.pk in systems_in_processing()

    wait_until(processing_started, timeout=30, step=0.01)
    victim = pid_of()
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    # Killed before its commit: everything it had done is rolled back.
    assert PendingMinute.objects.filter(system=pipeline.system).exists()
    assert not pipeline.processed()
    return victim, killed_at


def test_a_task_killed_with_its_pool_process_runs_again(
    pipeline, own_redis, tmp_path
) -> None:
    with stack(tmp_path, own_redis.url) as app:
        url = app.server()
        posted = _post_backlog(url, pipeline)
        # No beat: only the broker's redelivery can bring the task back.
        worker = app.worker(pool="prefork")

        def pool_process() -> int:
            (child,) = child_pids(worker.pid)
            return child

        victim, killed_at = _kill_mid_task(pipeline, pool_process)
        wait_until(pipeline.processed, timeout=60)
        recovered = time.monotonic() - killed_at
        assert victim not in child_pids(worker.pid)

    report(
        f"pool process SIGKILLed mid-task: {posted} samples posted, "
        f"{pipeline.stored} stored; task ran again and finished {recovered:.1f} s "
        "after the kill"
    )
    assert pipeline.stored == posted
    before = pipeline.snapshot()
    system_process(system_id=pipeline.system.pk)
    assert pipeline.snapshot() == before


def test_a_task_of_a_worker_killed_whole_is_sent_again_by_the_sweeper(
    pipeline, own_redis, tmp_path
) -> None:
    with stack(tmp_path, own_redis.url) as app:
        url = app.server()
        posted = _post_backlog(url, pipeline)
        worker = app.worker(pool="solo")
        _, killed_at = _kill_mid_task(pipeline, lambda: worker.pid)
        worker.wait()
        # A new worker: the old task waits out its visibility timeout (300 s)
        # in Redis; the sweeper sends the owed work again well before that.
        app.worker(pool="solo")
        app.beat()
        wait_until(pipeline.processed, timeout=60)
        recovered = time.monotonic() - killed_at

    report(
        f"whole worker SIGKILLed mid-task: {posted} samples posted, "
        f"{pipeline.stored} stored; finished by a new worker {recovered:.1f} s "
        "after the kill"
    )
    assert pipeline.stored == posted
    before = pipeline.snapshot()
    system_process(system_id=pipeline.system.pk)
    assert pipeline.snapshot() == before
