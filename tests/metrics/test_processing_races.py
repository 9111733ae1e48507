"""Processing and ingest overlapping, on committed data in separate connections."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import StageFactory, SystemFactory
from toc.metrics import processing
from toc.metrics.ingest import SampleColumns, SampleRow, samples_store
from toc.metrics.models import PendingMinute, Rollup

pytestmark = pytest.mark.django_db(transaction=True)


def _batch(stage, ts) -> SampleColumns:
    return SampleColumns.of_rows(
        [
            SampleRow(
                stage_id=stage.pk,
                ts=ts,
                throughput=1.0,
                capacity=2.0,
                utilization=None,
                latency_p95_ms=1.0,
                queue_depth=0,
                errors=0,
                dropped=0,
                blocked=None,
                failure_mode="",
            )
        ]
    )


def test_a_batch_committed_while_its_minute_is_processed_stays_owed(
    monkeypatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent transactions need PostgreSQL.")
    system = SystemFactory(slug="race")
    stage = StageFactory(system=system, slug="ingest")
    minute = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    monkeypatch.setattr("toc.metrics.ingest.enqueue_processing", lambda pk: None)
    samples_store(system=system, batch=_batch(stage, minute))

    replay = processing._replay_findings

    def replay_then_a_batch_arrives(*args, **kwargs) -> None:
        replay(*args, **kwargs)
        # After this run has read the minute's samples, before it settles.
        late = _batch(stage, minute + timedelta(seconds=30))
        batch = threading.Thread(
            target=lambda: (
                samples_store(system=system, batch=late),
                connection.close(),
            )
        )
        batch.start()
        batch.join()

    monkeypatch.setattr(processing, "_replay_findings", replay_then_a_batch_arrives)
    processing.system_process(system_id=system.pk)
    assert PendingMinute.objects.filter(stage=stage, minute=minute).exists()

    monkeypatch.setattr(processing, "_replay_findings", replay)
    processing.system_process(system_id=system.pk)
    assert Rollup.objects.get(stage=stage, minute=minute).count == 2
    assert not PendingMinute.objects.filter(system=system).exists()


def test_a_batch_for_a_processed_minute_does_not_wait_for_processing_to_end(
    monkeypatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent transactions need PostgreSQL.")
    system = SystemFactory(slug="race")
    stage = StageFactory(system=system, slug="ingest")
    minute = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    monkeypatch.setattr("toc.metrics.ingest.enqueue_processing", lambda pk: None)
    samples_store(system=system, batch=_batch(stage, minute))

    refresh_ledger = processing._refresh_ledger
    seen = {}

    def a_batch_arrives_while_the_ledger_is_computed(*args, **kwargs) -> None:
        late = _batch(stage, minute + timedelta(seconds=30))
        batch = threading.Thread(
            target=lambda: (
                samples_store(system=system, batch=late),
                connection.close(),
            )
        )
        batch.start()
        batch.join(timeout=3)
        seen["blocked"], seen["batch"] = batch.is_alive(), batch
        refresh_ledger(*args, **kwargs)

    monkeypatch.setattr(
        processing, "_refresh_ledger", a_batch_arrives_while_the_ledger_is_computed
    )
    processing.system_process(system_id=system.pk)
    seen["batch"].join()
    assert not seen["blocked"], "the batch waited for processing's transaction to end"
    # Its samples came after this run read the minute: it stays owed.
    assert PendingMinute.objects.filter(stage=stage, minute=minute).exists()


def test_a_run_that_fails_leaves_its_minutes_owed(monkeypatch) -> None:
    system = SystemFactory(slug="race")
    stage = StageFactory(system=system, slug="ingest")
    minute = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    monkeypatch.setattr("toc.metrics.ingest.enqueue_processing", lambda pk: None)
    samples_store(system=system, batch=_batch(stage, minute))

    def fail(*args, **kwargs) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(processing, "_refresh_ledger", fail)
    with pytest.raises(RuntimeError):
        processing.system_process(system_id=system.pk)
    assert PendingMinute.objects.filter(stage=stage, minute=minute).exists()
    assert not Rollup.objects.filter(stage=stage).exists()
