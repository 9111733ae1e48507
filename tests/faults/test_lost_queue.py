"""The queue is lost (Redis flushed) after tasks were sent and before they ran."""

from __future__ import annotations

import time

from tests.faults.conftest import batches, report
from tests.faults.services import post_samples, stack, wait_until


def test_a_flushed_queue_is_rederived_by_the_sweeper(
    pipeline, own_redis, tmp_path
) -> None:
    posted = batches(4, 30)
    with stack(tmp_path, own_redis.url) as app:
        url = app.server()
        for batch in posted:
            assert post_samples(url, "live", pipeline.key, batch).status == 202
        # The task is in the queue and the system flagged as queued; then the
        # queue is lost, as when Redis restarts without persistence.
        own_redis.flush()
        flushed_at = time.monotonic()
        app.worker()
        app.beat()
        wait_until(pipeline.processed, timeout=60)
        recovered = time.monotonic() - flushed_at

    stale = int(app.env["TOC_QUEUED_STALE_S"])
    interval = int(app.env["TOC_SWEEP_INTERVAL_S"])
    total = sum(len(batch) for batch in posted)
    report(
        f"queue flushed: {total} samples posted, {pipeline.stored} stored; "
        f"processed {recovered:.1f} s after the flush (flag stale after {stale} s, "
        f"sweep every {interval} s)"
    )
    assert pipeline.stored == total
    assert recovered >= stale  # the flag of the lost task had to go stale first
