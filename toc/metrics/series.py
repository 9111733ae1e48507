"""Per-minute series of a system's stages, read from rollups (never raw samples).

The series share one time axis, `t`, and each metric is a list aligned with it
(null where a stage reported nothing that minute): a day for ten stages is a
few hundred kilobytes of lists instead of fourteen thousand objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from toc.metrics.models import Rollup
from toc.systems.models import Stage

MINUTE = timedelta(minutes=1)
METRICS = ("load", "capacity", "utilization", "queue_depth", "latency_p95_ms")


def _grid(start: datetime, end: datetime) -> list[datetime]:
    """Every whole minute in [start, end)."""
    minute = start.astimezone(UTC).replace(second=0, microsecond=0)
    if minute < start:
        minute += MINUTE
    grid = []
    while minute < end:
        grid.append(minute)
        minute += MINUTE
    return grid


def stage_series(stages: Sequence[Stage], start: datetime, end: datetime) -> dict:
    """`t` (the minutes in [start, end)) and, per stage, its metrics on that axis."""
    grid = _grid(start, end)
    slot = {int(minute.timestamp()): index for index, minute in enumerate(grid)}
    series = {
        stage.pk: {metric: [None] * len(grid) for metric in METRICS} for stage in stages
    }
    rows = Rollup.objects.filter(
        stage__in=stages, minute__gte=start, minute__lt=end
    ).values_list(
        "stage_id",
        "minute",
        "count",
        "throughput_sum",
        "capacity_sum",
        "utilization_sum",
        "utilization_count",
        "last_queue_depth",
        "latency_p95_max",
    )
    for stage_id, minute, count, load, capacity, util, util_n, queue, latency in rows:
        index = slot[int(minute.timestamp())]
        values = series[stage_id]
        if util_n:
            values["utilization"][index] = round(util / util_n, 4)
        elif capacity:
            values["utilization"][index] = round(min(load / capacity, 1.0), 4)
        values["load"][index] = round(load / count, 3)
        values["capacity"][index] = round(capacity / count, 3)
        values["queue_depth"][index] = queue
        values["latency_p95_ms"][index] = round(latency, 3)
    return {
        "t": [minute.isoformat() for minute in grid],
        "stages": [
            {"stage": stage.slug, "name": stage.name, **series[stage.pk]}
            for stage in stages
        ],
    }
