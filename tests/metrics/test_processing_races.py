"""Processing and ingest overlapping, on committed data in separate connections."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import NamedTuple

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import StageFactory, SystemFactory
from tests.metrics.samples import sample
from toc.metrics import processing
from toc.metrics.ingest import SampleColumns, samples_store, validate_batch
from toc.metrics.models import PendingMinute, Rollup

pytestmark = pytest.mark.django_db(transaction=True)


def _batch(stage, ts) -> SampleColumns:
    """One valid sample of `stage` at `ts`, as ingest hands it to the store."""
    return validate_batch(
        [sample(stage.slug, ts)], {stage.slug: stage.pk}, now=timezone.now()
    )


class Owed(NamedTuple):
    system: object
    stage: object
    minute: datetime


@pytest.fixture
def owed(monkeypatch) -> Owed:
    """A system whose one stored sample leaves its minute owed; no task is sent."""
    system = SystemFactory(slug="race")
    stage = StageFactory(system=system, slug="ingest")
    minute = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    monkeypatch.setattr(
        "toc.metrics.ingest.storage.enqueue_processing", lambda pk: None
    )
    samples_store(system=system, batch=_batch(stage, minute))
    return Owed(system, stage, minute)


@pytest.fixture
def concurrent() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent transactions need PostgreSQL.")


def _late_batch_from_another_connection(owed: Owed) -> threading.Thread:
    """Stores a sample of the owed minute, 30 s in, from a thread of its own."""
    late = _batch(owed.stage, owed.minute + timedelta(seconds=30))
    thread = threading.Thread(
        target=lambda: (
            samples_store(system=owed.system, batch=late),
            connection.close(),
        )
    )
    thread.start()
    return thread


def test_a_batch_committed_while_its_minute_is_processed_stays_owed(
    owed, concurrent, monkeypatch
) -> None:
    replay = processing._replay_findings

    def replay_then_a_batch_arrives(*args, **kwargs) -> None:
        replay(*args, **kwargs)
        # After this run has read the minute's samples, before it commits.
        _late_batch_from_another_connection(owed).join()

    monkeypatch.setattr(processing, "_replay_findings", replay_then_a_batch_arrives)
    processing.system_process(system_id=owed.system.pk)
    assert PendingMinute.objects.filter(stage=owed.stage, minute=owed.minute).exists()

    monkeypatch.setattr(processing, "_replay_findings", replay)
    processing.system_process(system_id=owed.system.pk)
    assert Rollup.objects.get(stage=owed.stage, minute=owed.minute).count == 2
    assert not PendingMinute.objects.filter(system=owed.system).exists()


def test_a_batch_for_a_processed_minute_does_not_wait_for_processing_to_end(
    owed, concurrent, monkeypatch
) -> None:
    refresh_ledger = processing._refresh_ledger
    seen = {}

    def a_batch_arrives_while_the_ledger_is_computed(*args, **kwargs) -> None:
        batch = _late_batch_from_another_connection(owed)
        batch.join(timeout=3)
        seen["blocked"], seen["batch"] = batch.is_alive(), batch
        refresh_ledger(*args, **kwargs)

    monkeypatch.setattr(
        processing, "_refresh_ledger", a_batch_arrives_while_the_ledger_is_computed
    )
    processing.system_process(system_id=owed.system.pk)
    seen["batch"].join()
    assert not seen["blocked"], "the batch waited for processing's transaction to end"
    # Its samples came after this run read the minute: it stays owed.
    assert PendingMinute.objects.filter(stage=owed.stage, minute=owed.minute).exists()


def test_a_run_that_fails_leaves_its_minutes_owed(owed, monkeypatch) -> None:
    def fail(*args, **kwargs) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(processing, "_refresh_ledger", fail)
    with pytest.raises(RuntimeError):
        processing.system_process(system_id=owed.system.pk)
    assert PendingMinute.objects.filter(stage=owed.stage, minute=owed.minute).exists()
    assert not Rollup.objects.filter(stage=owed.stage).exists()
