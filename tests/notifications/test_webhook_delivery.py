"""Webhooks delivered to a real HTTP receiver: the body and its signature,
retries after failures with each attempt logged, giving up, and no event
delivered twice however often the outbox is scanned."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.receivers import closed_port
from toc.notifications import services, tasks
from toc.notifications.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
)


@pytest.fixture
def hook(personas, admin_user, receiver):
    webhook, secret = services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=admin_user,
    )
    return webhook, secret


def test_a_move_is_posted_signed_with_the_webhook_secret(hook, receiver, moved):
    _, secret = hook
    moved()

    tasks.scan()

    [request] = receiver.requests
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Toc-Signature"] == f"sha256={expected}"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert set(body) == {"event", "occurred_at", "team", "system", "data"}
    assert body["event"] == "constraint.moved"
    assert body["system"] == "fraud"
    assert body["data"]["from_stage"] == "features"
    assert body["data"]["to_stage_name"] == "Inference"
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempt_log.get().status_code == 200


def test_a_signature_with_another_secret_does_not_verify(hook, receiver, moved):
    moved()
    tasks.scan()
    [request] = receiver.requests
    forged = hmac.new(b"whsec_guess", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Toc-Signature"] != f"sha256={forged}"


def test_two_failures_then_delivered_on_the_third_attempt(hook, receiver, moved):
    receiver.answers = [500, 500, 200]
    moved()

    tasks.scan()

    assert len(receiver.requests) == 3
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    log = list(delivery.attempt_log.values_list("ok", "status_code"))
    assert log == [(False, 500), (False, 500), (True, 200)]
    first = delivery.attempt_log.first()
    assert first.response == "receiver is unwell"
    assert "500" in first.error
    # Each attempt carries the same occurrence, so a receiver can drop repeats.
    keys = {request.headers["X-Toc-Event-Key"] for request in receiver.requests}
    assert keys == {Event.objects.get().key}


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(
    hook, receiver, moved, settings
):
    receiver.answers = [503] * 10
    moved()

    tasks.scan()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == settings.NOTIFICATIONS_MAX_ATTEMPTS
    assert len(receiver.requests) == settings.NOTIFICATIONS_MAX_ATTEMPTS


def test_a_refused_connection_is_logged_as_no_answer(personas, admin_user, moved):
    services.webhook_create(
        team=personas.team,
        url=f"http://127.0.0.1:{closed_port()}/hook",
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=admin_user,
    )
    moved()

    tasks.scan()

    attempt = Attempt.objects.first()
    assert attempt.status_code is None
    assert attempt.error.startswith("No answer")
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_a_hanging_receiver_costs_a_delivery_its_timeout_only(
    hook, receiver, moved, settings
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    receiver.delay = 3
    moved()

    started = time.monotonic()
    tasks.scan()

    assert time.monotonic() - started < 2.5
    assert "timed out" in Attempt.objects.get().error


def test_backoff_doubles_up_to_its_limit(settings):
    settings.NOTIFICATIONS_RETRY_BASE_S = 10
    settings.NOTIFICATIONS_RETRY_MAX_S = 60
    assert [services.backoff_s(n) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_scanning_again_records_and_sends_nothing_twice(hook, receiver, moved):
    moved()

    for _ in range(3):
        tasks.scan()

    assert Event.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_a_crash_between_recording_and_sending_delivers_once_later(
    hook, receiver, moved, settings
):
    """The scan recorded the event and its delivery, and the worker died
    before sending it (the task was lost). Later scans find the delivery owed
    and send it once; the event is not recorded again."""
    moved()
    owed = services.events_scan()  # recorded, never sent: the task is lost
    assert len(owed) == 1
    assert receiver.requests == []

    # Straight after the crash it is not yet taken for lost...
    tasks.scan()
    assert receiver.requests == []
    # ...once it is overdue, it is; two scans at once send it once.
    Delivery.objects.update(
        next_attempt_at=Delivery.objects.get().created - services.LOST_AFTER * 2
    )
    tasks.scan()
    tasks.scan()

    assert len(receiver.requests) == 1
    assert Event.objects.count() == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_duplicate_task_of_an_earlier_attempt_sends_nothing(hook, receiver, moved):
    moved()
    [(delivery_id, attempts)] = services.events_scan()
    assert attempts == 0

    tasks.deliver(delivery_id, 0)
    tasks.deliver(delivery_id, 0)  # the broker delivered the task again

    assert len(receiver.requests) == 1


def test_a_delivery_held_by_a_dead_worker_is_sent_again_after_its_lease(
    hook, receiver, moved
):
    moved()
    [(delivery_id, _)] = services.events_scan()
    # The worker claimed it and died before its request left.
    Delivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.SENDING,
        claimed_at=Delivery.objects.get().created - services.CLAIM_LEASE * 2,
    )

    tasks.scan()

    assert len(receiver.requests) == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_only_the_events_a_webhook_asked_for_go_to_it(
    personas, admin_user, receiver, moved
):
    services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.SYSTEM_STALE],
        created_by=admin_user,
    )
    moved()
    tasks.scan()
    assert Event.objects.count() == 1
    assert receiver.requests == []


def test_another_teams_webhook_gets_nothing(personas, receiver, moved):
    from toc.accounts.models import Team

    other = Team.objects.exclude(pk=personas.team.pk).get()
    services.webhook_create(
        team=other, url=receiver.url, events=EventKind.values, created_by=None
    )
    moved()
    tasks.scan()
    assert receiver.requests == []
