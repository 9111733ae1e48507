from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toc.metrics.models import Rollup
from toc.metrics.series import stage_series

pytestmark = pytest.mark.both_databases

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _rollup(stage, minute: int, load: float) -> Rollup:
    at = START + timedelta(minutes=minute)
    return Rollup(
        stage=stage,
        minute=at,
        first_ts=at,
        last_ts=at,
        count=1,
        capacity_sum=100.0,
        throughput_sum=load,
        utilization_sum=0.0,
        utilization_count=0,
        blocked_sum=0.0,
        blocked_count=0,
        latency_p95_max=10.0,
        last_queue_depth=minute,
        time_sum=0.0,
        queue_sum=float(minute),
        time_sq_sum=0.0,
        time_queue_sum=0.0,
        queue_sq_sum=0.0,
        errors=0,
        dropped=0,
    )


def test_each_minute_lands_on_its_place_of_the_axis(personas) -> None:
    """Whole runs of minutes and runs with gaps, stored out of order, alike."""
    ingest, features, inference = personas.system.stages.all()
    # Stored in this order, so that the database may hand them back in it.
    for stage, minute in [(features, 5), (features, 1), (features, 2)]:
        _rollup(stage, minute, load=10.0 * minute).save()
    for minute in range(6):
        _rollup(ingest, minute, load=float(minute)).save()

    series = stage_series(
        [ingest, features, inference], START, START + timedelta(minutes=6)
    )

    assert len(series["t"]) == 6
    loads = {line["stage"]: line["load"] for line in series["stages"]}
    assert loads["ingest"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert loads["features"] == [None, 10.0, 20.0, None, None, 50.0]
    assert loads["inference"] == [None] * 6
    queues = {line["stage"]: line["queue_depth"] for line in series["stages"]}
    assert queues["features"] == [None, 1, 2, None, None, 5]
