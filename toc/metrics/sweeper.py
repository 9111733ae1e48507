"""Sending processing that is owed but was never sent, or was sent and lost.

Ingest writes the samples and their `PendingMinute` rows in one transaction
(an outbox: the record of owed work commits with the data, or not at all), then
sends the task after commit. Sending can fail (broker down), or the message can
vanish later (Redis flushed or restarted without persistence, a worker killed
outright). Rather than relay every outbox row through a publisher process, this
periodic sweep, run by Celery beat on a static schedule (toc/celery.py), looks
for systems that owe work and have no task on its way, and sends one:

- the outbox already says exactly what is owed, so the sweep needs no state of
  its own and nothing to reconcile after a crash;
- one task per system catches up on all its pending minutes, so a broker that
  was down for an hour costs one task per system, not one per batch;
- processing is idempotent, so an extra task (the sweep racing an ingest) costs
  a little work and changes nothing.

A system is swept when it has pending minutes older than `MIN_AGE` (younger
ones have a task in flight from ingest) and no task is queued (or its queued
flag is older than QUEUED_STALE, i.e. the task was lost) or running. A lost
queue is therefore re-derived within QUEUED_STALE plus one sweep interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from toc.metrics.models import PendingMinute, SystemLedger
from toc.metrics.processing import systems_in_processing
from toc.systems.models import System

logger = logging.getLogger(__name__)

MIN_AGE = timedelta(seconds=5)


def pending_sweep(*, enqueue: Callable[[int], None]) -> list[int]:
    """Sends processing for every system owed it; returns the systems sent."""
    owing = set(
        # Pending rows are drained continuously, so the table stays small and
        # a scan of it is cheap; no index on `created` is needed.
        PendingMinute.objects.filter(created__lt=timezone.now() - MIN_AGE)
        .values_list("system_id", flat=True)
        .distinct()
    )
    owing -= systems_in_processing()
    sent = []
    for system in System.objects.filter(pk__in=owing).order_by("pk"):
        if SystemLedger.mark_queued(system):
            enqueue(system.pk)
            sent.append(system.pk)
    if sent:
        logger.info("Sweep sent processing for systems %s", sent)
    return sent
