"""Per-minute series of a system's stages, read from rollups (never raw samples).

The series share one time axis, `t`, and each metric is a list aligned with it
(null where a stage reported nothing that minute): a day for ten stages is a
few hundred kilobytes of lists instead of fourteen thousand objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from django.db import connection

from toc.metrics import wire
from toc.metrics.models import Rollup
from toc.systems.models import Stage

MINUTE = timedelta(minutes=1)
METRICS = ("load", "capacity", "utilization", "queue_depth", "latency_p95_ms")

# Reported utilization where there is one, else load over capacity (at most 1).
# Divided only when the quotient is at most 1: PostgreSQL fails on a float
# overflow, which a tiny capacity (5e-324) under a large load would cause.
_UTILIZATION_SQL = """CASE WHEN utilization_count > 0
                      THEN utilization_sum / utilization_count
                      WHEN capacity_sum >= throughput_sum AND capacity_sum > 0
                      THEN throughput_sum / capacity_sum
                      WHEN capacity_sum > 0 THEN 1.0::float8 END"""

# On PostgreSQL each stage's minutes come back as arrays, decoded in C: a day of
# ten stages is ten rows instead of fourteen thousand. The arrays need no ORDER
# BY: aggregated from the same rows they stay aligned, and the epochs place each
# value on the axis. date_part, a float, rather than EXTRACT, a numeric: the
# numeric arithmetic took about a tenth of the query.
_ARRAYS_SQL = f"""
SELECT stage_id,
       array_agg(date_part('epoch', minute)::bigint),
       array_agg(throughput_sum / count),
       array_agg(capacity_sum / count),
       array_agg({_UTILIZATION_SQL}),
       array_agg(last_queue_depth),
       array_agg(latency_p95_max)
FROM metrics_rollup
WHERE stage_id = ANY(%s) AND minute >= %s AND minute < %s
GROUP BY stage_id
"""


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


def _bucket_grid(start: datetime, end: datetime, bucket_s: int) -> list[int]:
    """Epochs of the buckets (multiples of ``bucket_s``) that overlap [start, end)."""
    first = int(start.timestamp()) // bucket_s * bucket_s
    return list(range(first, int(end.timestamp()), bucket_s))


def _columns_postgres(stage_ids: list[int], start: datetime, end: datetime):
    return wire.execute(_ARRAYS_SQL, [stage_ids, start, end], fetch=True)


def _columns_portable(stage_ids: list[int], start: datetime, end: datetime):
    rows = (
        Rollup.objects.filter(stage_id__in=stage_ids, minute__gte=start, minute__lt=end)
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
    by_stage: dict[int, list[list]] = {}
    for stage_id, minute, count, load, capacity, util, util_n, queue, p95 in rows:
        columns = by_stage.setdefault(stage_id, [[] for _ in range(6)])
        if util_n:
            utilization: float | None = util / util_n
        else:
            utilization = min(load / capacity, 1.0) if capacity else None
        values = (int(minute.timestamp()), load / count, capacity / count)
        for column, value in zip(
            columns, (*values, utilization, queue, p95), strict=True
        ):
            column.append(value)
    for stage_id, columns in by_stage.items():
        yield (stage_id, *columns)


def stage_series(stages: Sequence[Stage], start: datetime, end: datetime) -> dict:
    """`t` (the minutes in [start, end)) and, per stage, its metrics on that axis."""
    grid = _grid(start, end)
    series = {
        stage.pk: {metric: [None] * len(grid) for metric in METRICS} for stage in stages
    }
    if grid:
        origin = int(grid[0].timestamp())
        fetch = (
            _columns_postgres
            if connection.vendor == "postgresql"
            else _columns_portable
        )
        columns: Iterable = fetch([stage.pk for stage in stages], start, end)
        for stage_id, epochs, *metrics in columns:
            slots = [(epoch - origin) // 60 for epoch in epochs]
            first = slots[0]
            # Mostly every minute is there, in order: then each list goes in whole.
            in_a_row = slots == list(range(first, first + len(slots)))
            for metric, values in zip(METRICS, metrics, strict=True):
                target = series[stage_id][metric]
                if in_a_row:
                    target[first : first + len(values)] = values
                    continue
                for slot, value in zip(slots, values, strict=True):
                    target[slot] = value
    return {
        "t": [minute.isoformat() for minute in grid],
        "stages": [
            {"stage": stage.slug, "name": stage.name, **series[stage.pk]}
            for stage in stages
        ],
    }


# Charts need the peaks, not every minute: per bucket, the highest utilization
# and the longest queue any minute in it saw.
_PEAKS_SQL = f"""
SELECT stage_id, array_agg(bucket), array_agg(utilization), array_agg(queue)
FROM (
    SELECT stage_id,
           date_part('epoch', minute)::bigint / %(bucket)s * %(bucket)s AS bucket,
           max({_UTILIZATION_SQL}) AS utilization,
           max(last_queue_depth) AS queue
    FROM metrics_rollup
    WHERE stage_id = ANY(%(stages)s) AND minute >= %(start)s AND minute < %(end)s
    GROUP BY 1, 2
) AS buckets
GROUP BY stage_id
"""


def _peaks_postgres(
    stage_ids: list[int], start: datetime, end: datetime, bucket_s: int
):
    return wire.execute(
        _PEAKS_SQL,
        {"stages": stage_ids, "start": start, "end": end, "bucket": bucket_s},
        fetch=True,
    )


def _peaks_portable(
    stage_ids: list[int], start: datetime, end: datetime, bucket_s: int
):
    for stage_id, epochs, _, _, utilization, queue, _ in _columns_portable(
        stage_ids, start, end
    ):
        peaks: dict[int, list] = {}
        for epoch, util, depth in zip(epochs, utilization, queue, strict=True):
            bucket = peaks.setdefault(epoch // bucket_s * bucket_s, [None, None])
            bucket[0] = _larger(bucket[0], util)
            bucket[1] = _larger(bucket[1], depth)
        yield (
            stage_id,
            list(peaks),
            [util for util, _ in peaks.values()],
            [depth for _, depth in peaks.values()],
        )


def _larger(current: float | None, value: float | None) -> float | None:
    if current is None:
        return value
    return current if value is None else max(current, value)


def peak_series(
    stages: Sequence[Stage], start: datetime, end: datetime, bucket_s: int
) -> dict:
    """Per bucket of ``bucket_s`` seconds in [start, end): each stage's peak
    utilization (rounded to 0.1%) and queue depth, on a shared axis ``t``."""
    grid = _bucket_grid(start, end, bucket_s)
    slot_of = {epoch: slot for slot, epoch in enumerate(grid)}
    series = {
        stage.pk: {"utilization": [None] * len(grid), "queue_depth": [None] * len(grid)}
        for stage in stages
    }
    fetch = _peaks_postgres if connection.vendor == "postgresql" else _peaks_portable
    for stage_id, epochs, utilization, queue in fetch(
        [stage.pk for stage in stages], start, end, bucket_s
    ):
        target = series[stage_id]
        for epoch, util, depth in zip(epochs, utilization, queue, strict=True):
            slot = slot_of[epoch]
            target["utilization"][slot] = None if util is None else round(util, 3)
            target["queue_depth"][slot] = depth
    return {
        "t": [datetime.fromtimestamp(epoch, UTC) for epoch in grid],
        "stages": [
            {"stage": stage.slug, "name": stage.name, **series[stage.pk]}
            for stage in stages
        ],
    }


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def one_stage_series(
    stage: Stage, start: datetime, end: datetime, bucket_s: int
) -> dict:
    """One stage's page, per bucket of ``bucket_s`` seconds in [start, end): mean
    utilization and blocked share (the shares of time the bucket's minutes were
    occupied and waiting on downstream), the peak queue and p95 latency, errors
    and drops summed; and ``failure_modes``, each mode's count and last sighting
    over the whole range, the most frequent first.

    One stage's minutes, a month at most of them, are few enough to add up here
    on either database.
    """
    grid = _bucket_grid(start, end, bucket_s)
    slot_of = {epoch: slot for slot, epoch in enumerate(grid)}
    # Per bucket: utilization sum and count, blocked sum and count, queue, p95,
    # errors, dropped, and how many minutes reported.
    buckets: list[list] = [[0.0, 0, 0.0, 0, None, None, 0, 0, 0] for _ in grid]
    modes: dict[str, list] = {}
    rows = Rollup.objects.filter(
        stage=stage, minute__gte=start, minute__lt=end
    ).values_list(
        "minute",
        "throughput_sum",
        "capacity_sum",
        "utilization_sum",
        "utilization_count",
        "blocked_sum",
        "blocked_count",
        "last_queue_depth",
        "latency_p95_max",
        "errors",
        "dropped",
        "failure_modes",
    )
    for (
        minute,
        load,
        capacity,
        util,
        util_n,
        blocked,
        blocked_n,
        queue,
        p95,
        errors,
        dropped,
        failure_modes,
    ) in rows.iterator(chunk_size=5000):
        slot = slot_of.get(int(minute.timestamp()) // bucket_s * bucket_s)
        if slot is None:
            continue
        bucket = buckets[slot]
        if util_n:
            utilization: float | None = util / util_n
        else:
            utilization = min(load / capacity, 1.0) if capacity else None
        if utilization is not None:
            bucket[0] += utilization
            bucket[1] += 1
        if blocked_n:
            bucket[2] += blocked / blocked_n
            bucket[3] += 1
        bucket[4] = _larger(bucket[4], queue)
        bucket[5] = _larger(bucket[5], p95)
        bucket[6] += errors
        bucket[7] += dropped
        bucket[8] += 1
        for mode, n, seen in failure_modes:
            tally = modes.setdefault(mode, [0, seen])
            tally[0] += n
            tally[1] = max(tally[1], seen)
    return {
        "t": [datetime.fromtimestamp(epoch, UTC) for epoch in grid],
        "utilization": [_rounded(_mean(b[0], b[1])) for b in buckets],
        "blocked": [_rounded(_mean(b[2], b[3])) for b in buckets],
        "queue_depth": [b[4] for b in buckets],
        "latency_p95_ms": [b[5] for b in buckets],
        "errors": [b[6] if b[8] else None for b in buckets],
        "dropped": [b[7] if b[8] else None for b in buckets],
        "failure_modes": [
            {"mode": mode, "count": n, "last_seen": datetime.fromisoformat(seen)}
            for mode, (n, seen) in sorted(
                modes.items(), key=lambda item: (-item[1][0], item[0])
            )
        ],
    }


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 3)
