from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from toc.celery import app
from toc.metrics.models import PendingMinute, SystemLedger
from toc.metrics.sweeper import MIN_AGE, pending_sweep


@pytest.fixture
def owed(personas):
    """A minute of work owed by the system since a while ago."""
    stage = personas.system.stages.first()
    pending = PendingMinute.objects.create(
        system=personas.system,
        stage=stage,
        minute=timezone.now().replace(second=0, microsecond=0),
    )
    PendingMinute.objects.filter(pk=pending.pk).update(
        created=timezone.now() - MIN_AGE - timedelta(seconds=1)
    )
    return personas.system


def _sweep() -> list[int]:
    sent: list[int] = []
    pending_sweep(enqueue=sent.append)
    return sent


def test_owed_work_with_no_task_on_its_way_is_sent(owed) -> None:
    assert _sweep() == [owed.pk]
    assert SystemLedger.objects.get(system=owed).queued


def test_it_is_sent_once_until_the_flag_goes_stale(owed) -> None:
    assert _sweep() == [owed.pk]
    assert _sweep() == []
    SystemLedger.objects.update(
        queued_at=timezone.now() - timedelta(seconds=settings.TOC_QUEUED_STALE_S + 1)
    )
    assert _sweep() == [owed.pk]


def test_work_just_recorded_is_left_to_its_own_task(owed) -> None:
    PendingMinute.objects.update(created=timezone.now())
    assert _sweep() == []


def test_a_system_being_processed_is_left_alone(owed) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Processing holds a PostgreSQL advisory lock; SQLite has none.")
    with connection.cursor() as cursor:
        # The lock processing holds while it runs (released with the test's
        # transaction).
        cursor.execute("SELECT pg_advisory_xact_lock(7001, %s)", [owed.pk])
    assert _sweep() == []


def test_nothing_owed_sends_nothing(personas) -> None:
    assert _sweep() == []


def test_beat_runs_the_sweep_often_enough_to_rederive_a_lost_queue() -> None:
    entry = app.conf.beat_schedule["sweep owed processing"]
    assert entry["task"] == "metrics.sweep_pending"
    assert entry["schedule"] == settings.TOC_SWEEP_INTERVAL_S
    # A lost task is noticed once its flag is stale, at the next sweep.
    worst = settings.TOC_QUEUED_STALE_S + entry["schedule"] + MIN_AGE.total_seconds()
    assert worst < 120
