"""The broker goes away while samples arrive, and comes back."""

from __future__ import annotations

import time

from tests.faults.conftest import batches, report
from tests.faults.services import post_samples, stack, wait_until
from toc.metrics.models import PendingMinute
from toc.metrics.processing import system_process

# Refused connections fail at once; a broker that accepts and then hangs is
# bounded by the socket timeouts in settings (5 s).
QUICK_S = 2.0


def test_posts_are_acknowledged_while_the_broker_is_down_and_processed_after(
    pipeline, own_redis, tmp_path
) -> None:
    first, *during = batches(6, 30)
    with stack(tmp_path, own_redis.url) as app:
        app.worker()
        app.beat()
        url = app.server()
        assert post_samples(url, "live", pipeline.key, first).status == 202
        wait_until(pipeline.processed, timeout=30)

        own_redis.stop()
        slowest = 0.0
        for batch in during:
            started = time.monotonic()
            reply = post_samples(url, "live", pipeline.key, batch)
            slowest = max(slowest, time.monotonic() - started)
            assert reply.status == 202, reply.body
        posted = sum(len(batch) for batch in [first, *during])
        assert pipeline.stored == posted
        assert PendingMinute.objects.filter(system=pipeline.system).exists()

        own_redis.start()
        recovered = wait_until(pipeline.processed, timeout=60)

    report(
        f"broker down at enqueue: {posted} samples posted, {pipeline.stored} "
        f"stored; slowest 202 {slowest:.2f} s; processed {recovered:.1f} s "
        "after the broker returned"
    )
    assert slowest < QUICK_S
    before = pipeline.snapshot()
    system_process(system_id=pipeline.system.pk)
    assert pipeline.snapshot() == before
