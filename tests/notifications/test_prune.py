"""Events leave after NOTIFICATIONS_RETENTION_DAYS with their deliveries and
attempts, except what is still owed and what the scan needs to remember."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.notifications.test_occurrences import _kinds, _ledger
from toc.notifications import services
from toc.notifications.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
)
from toc.notifications.tasks import prune


def _age(days: float, **filters) -> None:
    Event.objects.filter(**filters).update(
        recorded_at=timezone.now() - timedelta(days=days)
    )


def test_old_events_go_with_their_deliveries_and_attempts(
    personas, moved, receiver, admin_user, settings
) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 90
    services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=admin_user,
    )
    moved(minutes_ago=20)
    moved(minutes_ago=10, to="ingest")
    for delivery_id, attempts in services.events_scan():
        services.delivery_attempt(delivery_id=delivery_id, attempts=attempts)
    old, recent = Event.objects.order_by("occurred_at")
    assert Attempt.objects.filter(delivery__event=old).exists()
    _age(91, pk=old.pk)
    _age(89, pk=recent.pk)

    assert prune() == 1
    assert list(Event.objects.all()) == [recent]
    assert not Delivery.objects.filter(event_id=old.pk).exists()
    assert not Attempt.objects.filter(delivery__event_id=old.pk).exists()
    assert Attempt.objects.filter(delivery__event=recent).exists()


def test_an_event_still_owed_a_delivery_stays(
    personas, moved, receiver, admin_user
) -> None:
    services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=admin_user,
    )
    moved()
    services.events_scan()
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    _age(365)
    assert prune() == 0
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    assert prune() == 1


def test_a_recovery_long_ago_is_not_told_again_after_the_prune(personas) -> None:
    _ledger(personas.system, newest_ago_s=300)
    services.events_scan()
    _ledger(personas.system, newest_ago_s=10)
    services.events_scan()
    assert _kinds() == [EventKind.SYSTEM_STALE, EventKind.SYSTEM_RECOVERED]
    _age(365)

    # The system's latest stale event and its recovery are what the scan reads
    # to know it was told; gone, the next scan would tell of the recovery again.
    assert services.events_prune() == 0
    services.events_scan()
    assert _kinds() == [EventKind.SYSTEM_STALE, EventKind.SYSTEM_RECOVERED]

    # An earlier silence, answered, goes once a later one is told.
    _ledger(personas.system, newest_ago_s=400)
    services.events_scan()
    _age(365, kind=EventKind.SYSTEM_STALE, recorded_at__lt=timezone.now())
    assert services.events_prune() == 2
    assert _kinds() == [EventKind.SYSTEM_STALE]
