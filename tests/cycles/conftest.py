from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from tests.metrics.samples import sample
from toc.cycles.models import Cycle, CycleStatus, ValidationExperiment
from toc.cycles.services import cycle_open
from toc.cycles.trail import SOURCES

BASE = "/systems/fraud/cycles/1"
# What validation_run(1_300) gives.
ROSE = (
    "System throughput rose 36.8% (950 → 1.3k records/s) while Features had more "
    "capacity: it is the constraint."
)


def open_beside(cycle: Cycle, title: str) -> Cycle:
    """Another cycle of `cycle`'s system, closed, for tests about a cycle that
    is not the one a URL names: opened while `cycle` is set aside, since one
    cycle of a system may be in progress at a time."""
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    other = cycle_open(system=cycle.system, title=title)
    Cycle.objects.filter(pk=other.pk).update(status=CycleStatus.CLOSED)
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.OPEN)
    other.refresh_from_db()
    return other


def backdate(days: int) -> None:
    """Moves every cycle and all history recorded so far `days` into the past."""
    for source in SOURCES:
        source.model.history.all().update(
            history_date=F("history_date") - timedelta(days=days)
        )
    Cycle.objects.update(created=F("created") - timedelta(days=days))


def day_ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days)).date().isoformat()


@pytest.fixture
def validation_run(post_samples, cycle) -> Callable[[float], ValidationExperiment]:
    """Runs cycle 1's validation experiment: Features goes from 1,000 to 2,500
    records/s of capacity for ten minutes, while every stage processes 950 records/s
    before and `during_load` during; the samples are ingested and the experiment
    recorded."""

    def run(during_load: float) -> ValidationExperiment:
        start = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
        started = start + timedelta(minutes=10)
        samples = []
        for tick in range(20 * 6):
            ts = start + timedelta(seconds=10 * tick)
            during = ts >= started
            load = during_load if during else 950.0
            for stage, capacity in [
                ("ingest", 5_000.0),
                ("features", 2_500.0 if during else 1_000.0),
                ("inference", 5_000.0),
            ]:
                samples.append(
                    sample(
                        stage,
                        ts,
                        capacity=capacity,
                        throughput=load,
                        utilization=load / capacity,
                    )
                )
        assert post_samples(samples).status_code == 202
        return ValidationExperiment.objects.create(
            cycle=cycle,
            stage="features",
            capacity_factor=2.5,
            started=started,
            ended=started + timedelta(minutes=10),
        )

    return run
