"""Deliveries through the real broker (Redis) and a real Celery worker, on
committed data: retries wait their backoff, and a worker that stops or dies
leaves nothing recorded twice and nothing sent again that was answered."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.worker import running_worker
from toc.notifications import services, tasks
from toc.notifications.models import Delivery, DeliveryStatus, Event, EventKind

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def worker_settings(monkeypatch) -> None:
    # Read by the worker's own settings, at its start.
    monkeypatch.setenv("NOTIFICATIONS_RETRY_BASE_S", "1")
    monkeypatch.setenv("NOTIFICATIONS_TIMEOUT_S", "10")


def _until(done: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


@pytest.fixture
def hook(personas, receiver):
    return services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=None,
    )


def _delivered() -> bool:
    return Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()


def test_retries_wait_their_backoff_on_a_real_worker(hook, receiver, moved):
    receiver.answers = [500, 500, 200]
    moved()
    with running_worker():
        tasks.scan.apply_async()
        _until(_delivered)
    first, second, third = (request.at for request in receiver.requests)
    # Backoff 1 s, then 2 s (NOTIFICATIONS_RETRY_BASE_S=1), via countdowns.
    assert second - first >= 0.9
    assert third - second >= 1.9
    assert Delivery.objects.get().attempts == 3


def test_a_restarted_worker_sends_nothing_twice(hook, receiver, moved):
    moved()
    with running_worker():
        tasks.scan.apply_async()
        _until(_delivered)
    with running_worker():
        for _ in range(2):
            tasks.scan.apply_async().get(timeout=30, disable_sync_subtasks=False)
        time.sleep(1)
    assert len(receiver.requests) == 1
    assert Event.objects.count() == Delivery.objects.count() == 1


def test_a_worker_killed_mid_send_leaves_the_delivery_to_be_sent_again(
    hook, receiver, moved
):
    """The worker dies while the receiver holds the request: toc cannot know
    whether it arrived, so once the claim's lease has passed the scan sends it
    again, under the same event key; the event is not recorded again."""
    receiver.delay = 5
    moved()
    with running_worker() as worker:
        tasks.scan.apply_async()
        _until(lambda: len(receiver.requests) == 1)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENDING
    # The lease passes (CLAIM_LEASE), as it would after two minutes.
    Delivery.objects.update(claimed_at=delivery.claimed_at - services.CLAIM_LEASE)
    receiver.delay = 0
    with running_worker():
        tasks.scan.apply_async()
        _until(_delivered)
        for _ in range(2):
            tasks.scan.apply_async().get(timeout=30, disable_sync_subtasks=False)
    keys = [request.headers["X-Toc-Event-Key"] for request in receiver.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1] == Event.objects.get().key
    assert Delivery.objects.count() == 1
