"""The outbox: occurrences recorded once as events, each event fanned out to
its team's targets once, and each delivery attempted until it is answered.

Nothing here runs in a request that ingests samples: beat runs the scan
(tasks.scan), and each delivery is a task of its own, so a receiver that is
down slows no one but its own retries.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from toc.accounts.models import Membership, Team
from toc.notifications import channels, sealed
from toc.notifications.models import (
    Attempt,
    Channel,
    ChatChannel,
    Delivery,
    DeliveryStatus,
    EmailChoice,
    Event,
    Webhook,
)
from toc.notifications.occurrences import (
    Occurrence,
    all_occurrences,
    latest_stale_events,
    recovered_key,
)

# A task holds a delivery this long at most (longer than Celery's hard time
# limit): after it, the task is taken for lost and the delivery sent again.
CLAIM_LEASE = timedelta(seconds=120)
# A delivery this far past its time has lost its task (broker flushed, worker
# gone before the retry was queued): the scan sends it again.
LOST_AFTER = timedelta(seconds=120)
# Any number: it only keeps two scans from running at once.
SCAN_LOCK = 7_317_001


def events_scan(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Records every new occurrence as an event with its deliveries, and
    returns the deliveries to send now (id, attempts made): the new ones, and
    those whose task was lost. Another scan running at the same time makes this one
    skip."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        if not _scan_lock():
            return []
        occurrences = list(all_occurrences(now, today))
        known = set(
            Event.objects.filter(key__in=[o.key for o in occurrences]).values_list(
                "key", flat=True
            )
        )
        new = [
            (delivery.pk, 0)
            for occurrence in occurrences
            if occurrence.key not in known
            for delivery in event_record(occurrence)
        ]
        lost = Delivery.objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lt=now - LOST_AFTER)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE)
        )
        lost_ids = list(lost.values_list("pk", "attempts"))
        # Due again a while from now, so the next scans leave them to the
        # task sent now; a task that held one past its lease was killed by
        # its time limit, so the delivery waits again.
        Delivery.objects.filter(pk__in=[pk for pk, _ in lost_ids]).update(
            status=DeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now
        )
        return new + lost_ids


def _scan_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite runs one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SCAN_LOCK])
        return bool(cursor.fetchone()[0])


def event_record(occurrence: Occurrence) -> list[Delivery]:
    """Records a new occurrence as an event with its deliveries, which it
    returns; nothing when the occurrence was recorded before (its key is
    taken)."""
    system = occurrence.system
    try:
        with transaction.atomic():
            event = Event.objects.create(
                key=occurrence.key,
                kind=occurrence.kind,
                team_id=system.team_id,
                system=system,
                occurred_at=occurrence.occurred_at,
                summary=occurrence.summary[:300],
                data=occurrence.data,
            )
            return deliveries_create(event)
    except IntegrityError:
        # Recorded meanwhile by another process: its key is taken.
        return []


def deliveries_create(event: Event) -> list[Delivery]:
    """One delivery per target of the event's team that asked for its kind."""
    wanted = [
        Delivery(
            event=event,
            channel=Channel.WEBHOOK,
            target=f"webhook:{hook.pk}",
            webhook=hook,
            next_attempt_at=event.recorded_at,
        )
        for hook in Webhook.objects.filter(team_id=event.team_id)
        if event.kind in hook.events
    ]
    wanted += [
        Delivery(
            event=event,
            channel=Channel.CHAT,
            target=f"chat:{chat.pk}",
            chat=chat,
            next_attempt_at=event.recorded_at,
        )
        for chat in ChatChannel.objects.filter(team_id=event.team_id)
        if event.kind in chat.events
    ]
    wanted += [
        Delivery(
            event=event,
            channel=Channel.EMAIL,
            target=f"email:{choice.membership.user_id}",
            recipient_id=choice.membership.user_id,
            next_attempt_at=event.recorded_at,
        )
        for choice in EmailChoice.objects.filter(
            membership__team_id=event.team_id
        ).select_related("membership__user")
        # No address, no mail: nothing to retry.
        if event.kind in choice.events and choice.membership.user.email
    ]
    return Delivery.objects.bulk_create(wanted)


def delivery_attempt(*, delivery_id: int, attempts: int) -> float | None:
    """Makes attempt number `attempts + 1` at a delivery, if it still waits
    for that one; returns the seconds until the next attempt after a failure,
    None when there is none to make (delivered, given up, or not ours)."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        Q(status=DeliveryStatus.PENDING)
        | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE),
        pk=delivery_id,
        attempts=attempts,
    ).update(status=DeliveryStatus.SENDING, claimed_at=now)
    if not claimed:
        return None  # sent meanwhile, or a duplicate task of an older attempt
    delivery = Delivery.objects.select_related(
        "event__team", "event__system", "webhook", "chat", "recipient"
    ).get(pk=delivery_id)
    started = time.monotonic()
    sent = channels.SENDERS[delivery.channel](delivery)
    Attempt.objects.create(
        delivery=delivery,
        at=now,
        duration_ms=round((time.monotonic() - started) * 1000),
        ok=sent.ok,
        status_code=sent.status_code,
        response=sent.response,
        error=sent.error,
    )
    delivery.attempts = attempts + 1
    delivery.claimed_at = None
    wait = None
    if sent.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.status = DeliveryStatus.PENDING
        wait = backoff_s(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=wait)
    delivery.save(
        update_fields=[
            "attempts",
            "claimed_at",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return wait


def events_prune(*, now: datetime | None = None) -> int:
    """Deletes the events recorded more than NOTIFICATIONS_RETENTION_DAYS ago,
    with their deliveries and attempts; returns how many events went.

    Kept at any age: an event with a delivery still owed, and each system's
    latest stale event and the recovery that answered it, from which the scan
    knows whom it told (without them it would tell of a recovery again).
    """
    cutoff = (now or timezone.now()) - timedelta(
        days=settings.NOTIFICATIONS_RETENTION_DAYS
    )
    told_stale = list(latest_stale_events())
    answers = [
        # A stale event names its system.
        recovered_key(cast(int, event.system_id), event.data["last_sample_at"])
        for event in told_stale
    ]
    old = (
        Event.objects.filter(recorded_at__lt=cutoff)
        .exclude(pk__in=[event.pk for event in told_stale])
        .exclude(key__in=answers)
        .exclude(
            deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
        )
    )
    _, deleted = old.delete()
    return deleted.get(Event._meta.label, 0)


def backoff_s(attempts: int) -> float:
    """Doubling from NOTIFICATIONS_RETRY_BASE_S after each failed attempt, up
    to NOTIFICATIONS_RETRY_MAX_S."""
    base = settings.NOTIFICATIONS_RETRY_BASE_S
    return min(base * 2 ** (attempts - 1), settings.NOTIFICATIONS_RETRY_MAX_S)


def webhook_create(
    *, team: Team, url: str, events: list[str], created_by
) -> tuple[Webhook, str]:
    return Webhook.issue(team=team, url=url, events=events, created_by=created_by)


def chat_channel_create(
    *, team: Team, url: str, shown: str, events: list[str]
) -> ChatChannel:
    return ChatChannel.objects.create(
        team=team, sealed_url=sealed.seal(url), shown=shown[:500], events=events
    )


def email_choice_set(*, membership: Membership, events: list[str]) -> EmailChoice:
    choice, _ = EmailChoice.objects.update_or_create(
        membership=membership, defaults={"events": events}
    )
    return choice
