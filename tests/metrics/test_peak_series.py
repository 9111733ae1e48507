from __future__ import annotations

from datetime import timedelta

import pytest

from tests.metrics.samples import sample
from toc.metrics.series import peak_series

pytestmark = pytest.mark.both_databases


def test_buckets_keep_each_stages_highest_utilization_and_longest_queue(
    personas, post_samples, recent
):
    start = recent.replace(minute=recent.minute // 5 * 5)
    samples = []
    for minute in range(10):
        ts = start + timedelta(minutes=minute)
        spike = minute == 3
        samples.append(
            sample(
                "features",
                ts,
                utilization=0.99 if spike else 0.5,
                queue_depth=700 if spike else 10 * minute,
            )
        )
        samples.append(sample("ingest", ts, utilization=0.2, queue_depth=0))
    assert post_samples(samples).status_code == 202
    stages = list(personas.system.stages.all())

    series = peak_series(stages, start, start + timedelta(minutes=10), 300)

    assert series["t"] == [start, start + timedelta(minutes=5)]
    by_slug = {s["stage"]: s for s in series["stages"]}
    assert by_slug["features"]["utilization"] == [0.99, 0.5]
    assert by_slug["features"]["queue_depth"] == [700, 90]
    assert by_slug["ingest"]["utilization"] == [0.2, 0.2]
    # A stage that reported nothing has gaps, not zeros.
    assert by_slug["inference"]["utilization"] == [None, None]


def test_the_axis_covers_every_bucket_that_overlaps_the_range(personas, recent):
    stages = list(personas.system.stages.all())
    start = recent.replace(minute=0) + timedelta(minutes=7)
    series = peak_series(stages, start, start + timedelta(hours=1), 1800)
    # 07 → 1:07 touches the buckets at :00, :30, 1:00.
    assert [t.minute for t in series["t"]] == [0, 30, 0]
    assert all(s["queue_depth"] == [None] * 3 for s in series["stages"])


def test_utilization_falls_back_to_load_over_capacity(personas, post_samples, recent):
    samples = [
        sample("ingest", recent + timedelta(seconds=s), throughput=50, capacity=200)
        for s in (0, 10, 20)
    ]
    post_samples(samples)
    stages = list(personas.system.stages.all())
    series = peak_series(stages, recent, recent + timedelta(minutes=1), 60)
    assert series["stages"][0]["utilization"] == [0.25]
