"""Per-minute rollups of a system's samples: rolled up again for each minute a
batch touched, and read back as the analysis takes them (StageRollup)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection

from toc.analysis import FailureModeTally, StageRollup, StageSample, rollup_samples
from toc.metrics import wire
from toc.metrics.models import Rollup, Sample
from toc.systems.models import Stage

MINUTE = timedelta(minutes=1)

# The measurements of a sample, as stored and as StageSample takes them.
SAMPLE_FIELDS = (
    "ts",
    "throughput",
    "capacity",
    "utilization",
    "latency_p95_ms",
    "queue_depth",
    "errors",
    "dropped",
    "blocked",
    "failure_mode",
)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# The same sums as rollup_samples, computed where the samples are: processing
# runs for every batch, and building Python objects per sample was its largest
# cost. Time sums count seconds from each minute's first sample, as in Python.
_TOUCHED = """
    SELECT DISTINCT stage_id, minute
    FROM unnest(%(stage_ids)b::bigint[], %(minutes)b::timestamptz[])
        AS touched(stage_id, minute)
"""
# The ANY conditions let the (stage, minute) index find the rows; joined with the
# unnested pairs alone, the planner may scan the whole table.
_ROLLUPS_CLEAR_SQL = f"""
DELETE FROM metrics_rollup r
WHERE r.stage_id = ANY(%(stage_ids)b) AND r.minute = ANY(%(minutes)b)
  AND EXISTS (
      SELECT 1 FROM ({_TOUCHED}) t
      WHERE t.stage_id = r.stage_id AND t.minute = r.minute
  )
"""
_ROLLUPS_SQL = f"""
WITH touched AS ({_TOUCHED}), s AS (
    SELECT t.stage_id, t.minute, x.ts, x.throughput, x.capacity, x.utilization,
           x.blocked, x.latency_p95_ms, x.queue_depth, x.errors, x.dropped,
           x.failure_mode,
           EXTRACT(EPOCH FROM x.ts - min(x.ts) OVER (PARTITION BY t.stage_id, t.minute))
               ::float8 AS t
    FROM touched t
    -- Each touched minute is one probe of the (stage, ts) index, whatever the
    -- planner guesses about the unnested arrays or the table's size: OFFSET 0
    -- keeps the LATERAL subquery from being flattened into a join, which the
    -- planner may then run as a scan of every sample of every stage.
    CROSS JOIN LATERAL (
        SELECT * FROM metrics_sample x
        WHERE x.stage_id = t.stage_id
          AND x.ts >= t.minute AND x.ts < t.minute + interval '1 minute'
        OFFSET 0
    ) x
), modes AS (
    SELECT stage_id, minute,
           json_agg(json_build_array(failure_mode, n, last_seen) ORDER BY failure_mode)
               AS failure_modes
    FROM (SELECT stage_id, minute, failure_mode, count(*) AS n, max(ts) AS last_seen
          FROM s WHERE failure_mode <> '' GROUP BY stage_id, minute, failure_mode) m
    GROUP BY stage_id, minute
)
INSERT INTO metrics_rollup (
    stage_id, minute, first_ts, last_ts, count, capacity_sum, throughput_sum,
    utilization_sum, utilization_count, blocked_sum, blocked_count, latency_p95_max,
    last_queue_depth, time_sum, queue_sum, time_sq_sum, time_queue_sum, queue_sq_sum,
    errors, dropped, failure_modes
)
SELECT s.stage_id, s.minute, min(ts), max(ts), count(*), sum(capacity),
       sum(throughput), coalesce(sum(utilization), 0), count(utilization),
       coalesce(sum(blocked), 0), count(blocked), max(latency_p95_ms),
       (array_agg(queue_depth ORDER BY ts DESC, queue_depth DESC))[1],
       sum(t), sum(queue_depth)::float8, sum(t * t), sum(t * queue_depth),
       sum(queue_depth::float8 * queue_depth), sum(errors), sum(dropped),
       coalesce(min(modes.failure_modes::text), '[]')::jsonb
FROM s LEFT JOIN modes USING (stage_id, minute)
GROUP BY s.stage_id, s.minute
"""


def refresh_rollups(
    stages: Sequence[Stage], touched: list[tuple[int, datetime]]
) -> None:
    if connection.vendor == "postgresql":
        known = {stage.pk for stage in stages}
        pairs = [
            (stage_id, minute) for stage_id, minute in touched if stage_id in known
        ]
        params = {
            "stage_ids": [stage_id for stage_id, _ in pairs],
            "minutes": [minute for _, minute in pairs],
        }
        wire.execute(_ROLLUPS_CLEAR_SQL, params)
        wire.execute(_ROLLUPS_SQL, params)
        return
    by_id = {stage.pk: stage for stage in stages}
    minutes_by_stage: dict[int, set[datetime]] = defaultdict(set)
    for stage_id, minute in touched:
        if stage_id in by_id:
            minutes_by_stage[stage_id].add(minute)

    fresh: list[Rollup] = []
    for stage_id, minutes in minutes_by_stage.items():
        stage = by_id[stage_id]
        by_minute: dict[datetime, list[StageSample]] = defaultdict(list)
        samples = Sample.objects.filter(
            stage_id=stage_id, ts__gte=min(minutes), ts__lt=max(minutes) + MINUTE
        ).values(*SAMPLE_FIELDS)
        for values in samples:
            minute = floor_minute(values["ts"])
            if minute in minutes:
                by_minute[minute].append(StageSample(stage=stage.name, **values))
        Rollup.objects.filter(stage_id=stage_id, minute__in=minutes).delete()
        fresh.extend(
            _rollup_row(stage_id, minute, rollup_samples(in_minute))
            for minute, in_minute in by_minute.items()
        )
    Rollup.objects.bulk_create(fresh)


def _rollup_row(stage_id: int, minute: datetime, rollup: StageRollup) -> Rollup:
    return Rollup(
        stage_id=stage_id,
        minute=minute,
        first_ts=rollup.first_ts,
        last_ts=rollup.last_ts,
        count=rollup.count,
        capacity_sum=rollup.capacity_sum,
        throughput_sum=rollup.throughput_sum,
        utilization_sum=rollup.utilization_sum,
        utilization_count=rollup.utilization_count,
        blocked_sum=rollup.blocked_sum,
        blocked_count=rollup.blocked_count,
        latency_p95_max=rollup.latency_p95_max_ms,
        last_queue_depth=rollup.last_queue_depth,
        time_sum=rollup.time_sum,
        queue_sum=rollup.queue_sum,
        time_sq_sum=rollup.time_sq_sum,
        time_queue_sum=rollup.time_queue_sum,
        queue_sq_sum=rollup.queue_sq_sum,
        errors=rollup.errors,
        dropped=rollup.dropped,
        failure_modes=[
            [t.mode, t.count, t.last_seen.isoformat()] for t in rollup.failure_modes
        ],
    )


# A rollup row's sums, in the order StageRollup takes them after the stage.
ROLLUP_SUMS = (
    "first_ts",
    "last_ts",
    "count",
    "capacity_sum",
    "throughput_sum",
    "utilization_sum",
    "utilization_count",
    "blocked_sum",
    "blocked_count",
    "latency_p95_max",
    "last_queue_depth",
    "time_sum",
    "queue_sum",
    "time_sq_sum",
    "time_queue_sum",
    "queue_sq_sum",
    "errors",
    "dropped",
)


def stage_rollup(
    stage_name: str, sums: Sequence, failure_modes: list[list]
) -> StageRollup:
    """The rollup of a row read as ROLLUP_SUMS and its failure modes."""
    return StageRollup(
        stage_name,
        *sums,
        failure_modes=tuple(
            FailureModeTally(mode, count, datetime.fromisoformat(seen))
            for mode, count, seen in failure_modes
        ),
    )
