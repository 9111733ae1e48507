"""A simulated hour through ingest and processing: posted at once as a backfill or
minute by minute as a live pipeline would, it gives the same findings and moves."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import IngestKeyFactory, StageFactory, SystemFactory
from tests.metrics.samples import sample
from tests.metrics.test_processing import STAGES, _events, _findings
from tests.simulation.pipeline import Stage, ramp, simulate
from toc.analysis import StageSample
from toc.metrics.models import SystemLedger

pytestmark = pytest.mark.both_databases


def _posted(reading: StageSample) -> dict:
    values = sample(
        reading.stage,
        reading.ts,
        throughput=reading.throughput,
        capacity=reading.capacity,
        latency_p95_ms=reading.latency_p95_ms,
        queue_depth=reading.queue_depth,
        dropped=reading.dropped,
        blocked=reading.blocked,
    )
    if reading.utilization is not None:
        values["utilization"] = reading.utilization
    return values


def _simulated_hour(origin) -> list[dict]:
    """Arrivals ramp from 20 to 50 records/s over 15 minutes until features (53/s)
    leads; at 30 minutes features doubles its capacity and inference (57/s, behind a
    20-record buffer that blocks features) leads. Ingest reports no utilization."""
    stages = [
        Stage.with_capacity("ingest", 100, servers=2),
        Stage.with_capacity("features", 53, servers=2, capacity_steps=((1800, 2.0),)),
        Stage.with_capacity("inference", 57, servers=2, buffer=20),
    ]
    assert [stage.name for stage in stages] == STAGES
    readings = simulate(
        stages,
        ramp(20, 50, 0, 900),
        3600,
        seed=9,
        origin=origin,
        omit_utilization={"ingest"},
    )
    return [_posted(reading) for reading in readings]


@pytest.mark.django_db
def test_a_simulated_hour_gives_the_same_findings_backfilled_and_live(
    post_samples, personas
) -> None:
    twin = SystemFactory(team=personas.team, slug="twin")
    for slug in STAGES:
        StageFactory(system=twin, slug=slug, name=slug.title())
    twin_key = IngestKeyFactory(system=twin, name="k").plaintext
    origin = (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    samples = _simulated_hour(origin)

    assert post_samples(samples).status_code == 202
    by_minute: dict[str, list[dict]] = defaultdict(list)
    for item in samples:
        by_minute[item["ts"][:16]].append(item)  # up to the minute
    for batch in by_minute.values():
        assert post_samples(batch, key=twin_key, slug="twin").status_code == 202

    backfilled = _events("fraud")
    assert [(e[1], e[2]) for e in backfilled] == [
        ("", "features"),
        ("features", "inference"),
    ]
    assert _events("twin") == backfilled
    assert len(_findings("fraud")) >= 55
    assert _findings("twin") == _findings("fraud")
    live = SystemLedger.objects.get(system__slug="twin").payload
    backfill = SystemLedger.objects.get(system__slug="fraud").payload
    assert backfill["constraint"]["stage"] == "inference"
    assert live["constraint"] == backfill["constraint"]
    assert live["stages"] == backfill["stages"]
