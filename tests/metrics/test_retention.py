"""Samples and rollups past their retention leave; on SQLite by DELETE, on
PostgreSQL here from the default partition (these dates have no partition
of their own: tests/metrics/test_partitions.py drops whole ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toc.metrics.models import Rollup, Sample
from toc.metrics.partitions import retention_apply
from toc.metrics.rollups import ROLLUP_SUMS

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_samples_and_rollups_past_retention_go_and_newer_ones_stay(
    personas, settings
) -> None:
    settings.SAMPLE_RETENTION_DAYS = 30
    settings.ROLLUP_RETENTION_DAYS = 400
    stage = personas.system.stages.first()
    for days in (31, 30, 29):
        Sample.objects.create(
            stage=stage,
            ts=NOW - timedelta(days=days, seconds=1),
            throughput=1,
            capacity=2,
            latency_p95_ms=1,
            queue_depth=0,
        )
    for days in (401, 399):
        minute = NOW - timedelta(days=days)
        sums = dict.fromkeys(ROLLUP_SUMS, 0) | {"first_ts": minute, "last_ts": minute}
        Rollup.objects.create(stage=stage, minute=minute, **sums)

    retention_apply(now=NOW)

    assert list(Sample.objects.order_by("ts").values_list("ts", flat=True)) == [
        NOW - timedelta(days=29, seconds=1)
    ]
    assert list(Rollup.objects.values_list("minute", flat=True)) == [
        NOW - timedelta(days=399)
    ]
