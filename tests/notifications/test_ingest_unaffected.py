"""A receiver that is down does not slow ingest: nothing in the request that
stores samples records or sends a notification; beat's scan does, later."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from tests.metrics.samples import steady_pipeline
from tests.receivers import closed_port
from toc.metrics.models import ConstraintEvent
from toc.notifications import services, tasks
from toc.notifications.models import Attempt, Delivery, Event, EventKind

STAGES = ["ingest", "features", "inference"]


def _moving_constraint() -> list[dict]:
    """Features saturated, then Inference: a move the ledger confirms."""
    start = (timezone.now() - timedelta(minutes=45)).replace(second=0, microsecond=0)
    busy = {"features": 0.95}
    later = {"features": 0.5, "inference": 0.97}
    return steady_pipeline(STAGES, start, 20, busy, interval_s=20) + steady_pipeline(
        STAGES, start + timedelta(minutes=20), 20, later, interval_s=20
    )


def test_samples_are_accepted_promptly_while_the_receiver_hangs(
    personas, admin_user, receiver, post_samples, settings
):
    settings.NOTIFICATIONS_TIMEOUT_S = 30
    receiver.delay = 30  # answers only after half a minute
    services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=EventKind.values,
        created_by=admin_user,
    )
    refused = f"http://127.0.0.1:{closed_port()}/hook"
    services.webhook_create(
        team=personas.team, url=refused, events=EventKind.values, created_by=None
    )

    started = time.monotonic()
    response = post_samples(_moving_constraint())
    took = time.monotonic() - started

    assert response.status_code == 202
    assert ConstraintEvent.objects.filter(from_stage="features").exists()
    # Nothing was recorded or sent in the request...
    assert not Event.objects.exists()
    assert receiver.requests == []
    # ...so it took nowhere near the receiver's half minute.
    assert took < 10

    # The scan, later and elsewhere, records and tries to send.
    settings.NOTIFICATIONS_TIMEOUT_S = 1
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    tasks.scan()
    assert Event.objects.filter(kind=EventKind.CONSTRAINT_MOVED).exists()
    assert Delivery.objects.count() == 2 * Event.objects.count()
    assert Attempt.objects.filter(ok=False).count() == Delivery.objects.count()
