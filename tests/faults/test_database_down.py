"""The database goes away under load and comes back.

The app reaches PostgreSQL through a proxy of this test's own, which is cut:
the shared PostgreSQL itself keeps running for every other test.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from tests.factories import ApiTokenFactory
from tests.faults.conftest import STAGES, report
from tests.faults.services import (
    Reply,
    TcpProxy,
    database_url,
    post_samples,
    request,
    stack,
    wait_until,
)
from tests.metrics.samples import steady_pipeline
from toc.metrics.models import Sample
from toc.metrics.processing import system_process

DOWN_S = 3.0
# Between a pipeline's batches, so that the outage sees a few dozen of them.
PAUSE_S = 0.05


def _batches():
    """Endless distinct batches of five minutes, oldest first."""
    start = (timezone.now() - timedelta(days=4)).replace(second=0, microsecond=0)
    n = 0
    while True:
        yield steady_pipeline(STAGES, start + timedelta(minutes=5 * n), 5, {})
        n += 1


def _keys(batches: list[list[dict]]) -> set[tuple[str, str]]:
    return {(item["stage"], item["ts"]) for batch in batches for item in batch}


def _stored(pipeline) -> set[tuple[str, str]]:
    return {
        (slug, ts.isoformat())
        for slug, ts in Sample.objects.filter(
            stage__system=pipeline.system
        ).values_list("stage__slug", "ts")
    }


def _is_503_with_retry_after(reply: Reply) -> bool:
    return reply.status == 503 and reply.headers.get("Retry-After", "").isdigit()


def test_requests_get_503_while_the_database_is_down_and_no_202_is_lost(
    pipeline, own_redis, tmp_path
) -> None:
    user = pipeline.membership.user
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value
    token = ApiTokenFactory(user=user, name="script").plaintext
    proxy = TcpProxy(int(database_url().rsplit(":", 1)[1].split("/")[0]))

    replies: list[tuple[list[dict], Reply, float]] = []
    stop = threading.Event()

    with (
        contextlib.closing(proxy),
        stack(tmp_path, own_redis.url, db_url=database_url(proxy.port)) as app,
    ):
        app.worker()
        app.beat()
        url = app.server()

        def keep_posting() -> None:
            for batch in _batches():
                if stop.is_set():
                    return
                reply = post_samples(url, "live", pipeline.key, batch)
                replies.append((batch, reply, time.monotonic()))
                time.sleep(PAUSE_S)

        poster = threading.Thread(target=keep_posting)
        poster.start()
        try:
            wait_until(lambda: len(replies) >= 20, timeout=20)
            proxy.cut()
            cut_at = time.monotonic()
            page = request(
                url + "/systems/", headers={"Cookie": f"sessionid={session}"}
            )
            api = request(
                url + "/api/v1/systems/", headers={"Authorization": f"Bearer {token}"}
            )
            health = request(url + "/healthz")
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - cut_at)))
            proxy.restore()
            restored_at = time.monotonic()

            def accepted_again() -> bool:
                return any(
                    at > restored_at and reply.status == 202 for _, reply, at in replies
                )

            back_in = wait_until(accepted_again, timeout=30)
            time.sleep(0.5)
        finally:
            stop.set()
            poster.join()

        statuses = {reply.status for _, reply, _ in replies}
        assert statuses == {202, 503}, statuses
        refused = [(b, r) for b, r, _ in replies if r.status == 503]
        for _, reply in refused:
            assert _is_503_with_retry_after(reply), reply
            assert reply.json()["errors"][0]["message"]
        assert _is_503_with_retry_after(page)
        assert page.headers["Content-Type"].startswith("text/html")
        assert _is_503_with_retry_after(api)
        assert api.json()["errors"]
        assert health.status == 503

        acknowledged = _keys([b for b, r, _ in replies if r.status == 202])
        stored_before_resend = _stored(pipeline)
        # Every acknowledged sample is stored; a refused batch may be too, if the
        # connection died after its commit, and resending it stores nothing twice.
        assert acknowledged <= stored_before_resend
        for batch, _ in refused:
            assert post_samples(url, "live", pipeline.key, batch).status == 202
        posted = _keys([b for b, _, _ in replies])
        assert _stored(pipeline) == posted
        processed_in = wait_until(pipeline.processed, timeout=60)

    report(
        f"database cut for {DOWN_S:.0f} s under load: {len(posted)} samples posted "
        f"in {len(replies)} batches; {len(acknowledged)} acknowledged (202), "
        f"{sum(len(b) for b, _ in refused)} refused (503, Retry-After "
        f"{refused[0][1].headers['Retry-After']} s); stored {len(stored_before_resend)}"
        f" before and {pipeline.stored} after resending the refused batches; first "
        f"202 {back_in:.2f} s after the database returned; processing caught up "
        f"{processed_in:.1f} s after the resend"
    )
    before = pipeline.snapshot()
    system_process(system_id=pipeline.system.pk)
    assert pipeline.snapshot() == before
