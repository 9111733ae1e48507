"""Per-minute series of a system's stages, read from rollups (never raw samples)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from toc.metrics.models import Rollup
from toc.systems.models import Stage


def stage_series(stages: Sequence[Stage], start: datetime, end: datetime) -> list[dict]:
    """One entry per stage, in pipeline order, with a point per minute that has data."""
    points: dict[int, list[dict]] = {stage.pk: [] for stage in stages}
    rows = (
        Rollup.objects.filter(stage__in=stages, minute__gte=start, minute__lt=end)
        .order_by("stage_id", "minute")
        .values_list(
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
    )
    for stage_id, minute, count, load, capacity, util, util_n, queue, latency in rows:
        if util_n:
            utilization = util / util_n
        else:
            utilization = min(load / capacity, 1.0) if capacity else None
        points[stage_id].append(
            {
                "t": minute.astimezone(UTC).isoformat(),
                "load": load / count,
                "capacity": capacity / count,
                "utilization": utilization,
                "queue_depth": queue,
                "latency_p95_ms": latency,
            }
        )
    return [
        {"stage": stage.slug, "name": stage.name, "points": points[stage.pk]}
        for stage in stages
    ]
