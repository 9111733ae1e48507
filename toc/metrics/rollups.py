"""Per-minute rollups of a system's samples: rolled up again for each minute a
batch touched, and read back as the analysis takes them (StageRollup)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection

from toc.analysis import (
    FailureModeTally,
    LedgerRow,
    StageRollup,
    StageSample,
    ledger_row_from_rollups,
    ledger_rows,
    rollup_samples,
)
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
# cost. Each range is a stage's samples with start <= ts < stop, all of them
# within [low, high); time sums count seconds from the range's first sample, as
# in Python. Shares and rates are summed as numeric: float8 sums drift where
# Python's sum() compensates (30 readings of 0.95 averaged 0.9499999999999995).
_SUMS_SQL = """
WITH ranges AS ({ranges}), s AS (
    SELECT r.stage_id, r.start, x.ts, x.throughput, x.capacity, x.utilization,
           x.blocked, x.latency_p95_ms, x.queue_depth, x.errors, x.dropped,
           x.failure_mode,
           EXTRACT(EPOCH FROM x.ts - min(x.ts) OVER (PARTITION BY r.stage_id, r.start))
               ::float8 AS t
    FROM ranges r
    -- Each range is one probe of the (stage, ts) index, whatever the planner
    -- guesses about the unnested arrays or the table's size: OFFSET 0 keeps
    -- the LATERAL subquery from being flattened into a join, which the
    -- planner may then run as a scan of every sample of every stage.
    -- The fixed bounds prune the day partitions when the query is planned;
    -- those of each range are known only as it runs.
    CROSS JOIN LATERAL (
        SELECT * FROM metrics_sample x
        WHERE x.stage_id = r.stage_id AND x.ts >= r.start AND x.ts < r.stop
          AND x.ts >= %(low)b AND x.ts < %(high)b
        OFFSET 0
    ) x
), modes AS (
    SELECT stage_id, start,
           json_agg(json_build_array(failure_mode, n, last_seen) ORDER BY failure_mode)
               AS failure_modes
    FROM (SELECT stage_id, start, failure_mode, count(*) AS n, max(ts) AS last_seen
          FROM s WHERE failure_mode <> '' GROUP BY stage_id, start, failure_mode) m
    GROUP BY stage_id, start
)
SELECT s.stage_id, s.start, min(ts), max(ts), count(*),
       sum(capacity::numeric)::float8, sum(throughput::numeric)::float8,
       coalesce(sum(utilization::numeric), 0)::float8, count(utilization),
       coalesce(sum(blocked::numeric), 0)::float8, count(blocked), {latency},
       (array_agg(queue_depth ORDER BY ts DESC, queue_depth DESC))[1],
       sum(t), sum(queue_depth)::float8, sum(t * t), sum(t * queue_depth),
       sum(queue_depth::float8 * queue_depth), sum(errors)::bigint,
       sum(dropped)::bigint,
       coalesce(min(modes.failure_modes::text), '[]')::jsonb
FROM s LEFT JOIN modes USING (stage_id, start)
GROUP BY s.stage_id, s.start
"""
_TOUCHED = """
    SELECT DISTINCT stage_id, minute
    FROM unnest(%(stage_ids)b::bigint[], %(minutes)b::timestamptz[])
        AS touched(stage_id, minute)
"""
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
_ROLLUP_COLUMNS = (*ROLLUP_SUMS, "failure_modes")
# An upsert, one statement: the open minute is rolled up again for each batch,
# and an update can stay on its page (HOT), where a delete and insert added an
# entry to each index every time.
_ROLLUPS_SQL = (
    f"INSERT INTO metrics_rollup (stage_id, minute, {', '.join(_ROLLUP_COLUMNS)})"
    + _SUMS_SQL.format(
        ranges="SELECT stage_id, minute AS start, minute + interval '1 minute' "
        f"AS stop FROM ({_TOUCHED}) t",
        latency="max(latency_p95_ms)",
    )
    + "ON CONFLICT (stage_id, minute) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in _ROLLUP_COLUMNS)
)
# One range per stage, whose latency is the nearest-rank p95 that ledger_rows
# reports (percentile_disc: the smallest value with 95% at or below it).
_WINDOW_SQL = _SUMS_SQL.format(
    ranges="SELECT stage_id, %(start)b::timestamptz AS start, "
    "%(stop)b::timestamptz AS stop FROM unnest(%(stage_ids)b::bigint[]) AS stage_id",
    latency="percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_p95_ms)",
)


def refresh_rollups(
    stages: Sequence[Stage], touched: list[tuple[int, datetime]]
) -> None:
    if connection.vendor == "postgresql":
        known = {stage.pk for stage in stages}
        pairs = [
            (stage_id, minute) for stage_id, minute in touched if stage_id in known
        ]
        if not pairs:
            return
        touched_minutes = [minute for _, minute in pairs]
        params = {
            "stage_ids": [stage_id for stage_id, _ in pairs],
            "minutes": touched_minutes,
            "low": min(touched_minutes),
            "high": max(touched_minutes) + MINUTE,
        }
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


def stage_rollup(
    stage_name: str, sums: Sequence, failure_modes: list[list]
) -> StageRollup:
    """The rollup of a row read as ROLLUP_SUMS and its failure modes."""
    modes = tuple(
        FailureModeTally(mode, count, datetime.fromisoformat(seen))
        for mode, count, seen in failure_modes
    )
    # One starred tuple: mypy reads any argument after `*sums` as one too many.
    return StageRollup(*(stage_name, *sums, modes))


# Sample times are stored to the microsecond: (end - window, end] is
# [end - window + 1 µs, end + 1 µs).
_MICROSECOND = timedelta(microseconds=1)


def window_ledger_rows(
    stages: Sequence[Stage], window_end: datetime, window_s: int
) -> list[LedgerRow]:
    """The ledger rows of the samples with window_end - window_s < ts <= window_end,
    as ledger_rows computes them."""
    names = [stage.name for stage in stages]
    if connection.vendor != "postgresql":  # SQLite: small, development data
        name_of = {stage.pk: stage.name for stage in stages}
        window = Sample.objects.filter(
            stage__in=stages,
            ts__gt=window_end - timedelta(seconds=window_s),
            ts__lte=window_end,
        ).order_by("stage_id", "ts")
        samples = [
            StageSample(name_of[stage_id], *values)
            for stage_id, *values in window.values_list("stage_id", *SAMPLE_FIELDS)
        ]
        return ledger_rows(samples, names, window_end, window_s)
    # Eight summed rows rather than hundreds of samples built in Python: this
    # runs for every batch (the fleet benchmark's worker CPU per system-minute).
    stage_name = {stage.pk: stage.name for stage in stages}
    start = window_end - timedelta(seconds=window_s) + _MICROSECOND
    stop = window_end + _MICROSECOND
    found = {}
    for stage_id, _, *sums, failure_modes in wire.execute(
        _WINDOW_SQL,
        {
            "stage_ids": list(stage_name),
            "start": start,
            "stop": stop,
            "low": start,
            "high": stop,
        },
        fetch=True,
    ):
        name = stage_name[stage_id]
        # Its latency is the window's p95 (_WINDOW_SQL), which the row of a
        # single rollup reports as it is.
        rollup = stage_rollup(name, sums, failure_modes)
        found[name] = ledger_row_from_rollups(name, [rollup])
    return [found.get(name) or LedgerRow(name) for name in names]
