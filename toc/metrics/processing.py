"""Turning stored samples into rollups, constraint findings, events and the ledger.

Everything is measured in sample time (`ts`), so a backfilled hour gives the
same results as the same hour posted live, and late samples land where they
belong: a changed minute is re-rolled and the findings after it replayed.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from toc.analysis import (
    ConstraintTracker,
    FailureModeTally,
    StageRollup,
    StageSample,
    ledger_from_rollups,
    ledger_rows,
    rollup_samples,
    track,
)
from toc.metrics import wire
from toc.metrics.ledger import WINDOW_S, ledger_payload
from toc.metrics.models import (
    ConstraintEvent,
    ConstraintFinding,
    PendingMinute,
    Rollup,
    Sample,
    SystemLedger,
)
from toc.systems.models import Stage, System

MINUTE = timedelta(minutes=1)
# The findings of one closed minute look back over this many rollup minutes.
WINDOW_MINUTES = WINDOW_S // 60

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


def system_process(*, system_id: int) -> None:
    """Processes everything the system owes; safe to run again or concurrently."""
    # Cleared before reading, so a batch committed from here on enqueues anew.
    SystemLedger.objects.filter(system_id=system_id).update(queued=False)
    with transaction.atomic():
        _lock_system(system_id)
        system = System.objects.filter(pk=system_id).first()
        if system is None:
            return
        stages = list(system.stages.all())
        owed = _take_owed_minutes(system_id)
        newest = newest_sample_ts(stages)
        latest = max((last for last, _ in newest.values() if last), default=None)
        if owed:
            _refresh_rollups(stages, owed)
            _replay_findings(
                system, stages, since=min(m for _, m in owed), latest=latest
            )
        _refresh_ledger(system, stages, latest, newest)


def _take_owed_minutes(system_id: int) -> list[tuple[int, datetime]]:
    """The (stage, minute) pairs the system owes, each once.

    Their rows are deleted in this run's transaction: should the run fail, they
    are owed again. Rows that batches add meanwhile are not among them and stay
    owed for the next run; adding one never waits on this deletion.
    """
    if connection.vendor != "postgresql":  # SQLite: small, development data
        rows = list(
            PendingMinute.objects.filter(system_id=system_id).values_list(
                "pk", "stage_id", "minute"
            )
        )
        PendingMinute.objects.filter(pk__in=[pk for pk, *_ in rows]).delete()
        return sorted({(stage, minute) for _, stage, minute in rows})
    return wire.execute(
        "WITH taken AS (DELETE FROM metrics_pendingminute WHERE system_id = %s "
        "RETURNING stage_id, minute) SELECT DISTINCT stage_id, minute FROM taken",
        [system_id],
        fetch=True,
    )


_LOCK_CLASS = 7001


def _lock_system(system_id: int) -> None:
    # Serialises processing of one system across workers without locking the
    # ledger row, which ingest requests update.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, system_id]
            )


def systems_in_processing() -> set[int]:
    """The systems whose processing holds its lock right now (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        # A two-key advisory lock shows its keys as classid and objid.
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objsubid = 2 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [_LOCK_CLASS],
        )
        return {int(objid) for (objid,) in cursor.fetchall()}


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


def _refresh_rollups(
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


def newest_sample_ts(
    stages: Sequence[Stage],
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Each stage's newest sample time and the one before it, by stage id."""
    # Index probes per stage, in one query; a MAX over all the system's
    # samples would not use the (stage, ts) index.
    newest = Sample.objects.filter(stage=OuterRef("pk")).order_by("-ts").values("ts")
    return {
        pk: (last, before)
        for pk, last, before in Stage.objects.filter(
            pk__in=[stage.pk for stage in stages]
        )
        .annotate(last=Subquery(newest[:1]), before=Subquery(newest[1:2]))
        .values_list("pk", "last", "before")
    }


def tracker_after(
    finding: ConstraintFinding, name_of: dict[str, str]
) -> ConstraintTracker:
    """The tracker as a stored finding left it; ``name_of`` maps slugs to names."""
    return ConstraintTracker(
        confirmed=name_of.get(finding.confirmed, finding.confirmed) or None,
        candidate=name_of.get(finding.candidate, finding.candidate) or None,
        candidate_since=finding.candidate_since,
        confirmed_since=finding.confirmed_since,
    )


def _replay_findings(
    system: System, stages: Sequence[Stage], since: datetime, latest: datetime | None
) -> None:
    """Re-evaluates the constraint for each closed minute from `since` onwards.

    A minute is closed once the system has a sample from a later minute; only
    closed minutes are evaluated, so a half-filled minute never decides a move.
    """
    if latest is None:
        return
    last_closed = floor_minute(latest) - MINUTE
    # Minutes that were still open when last processed are owed an evaluation.
    last_evaluated = (
        ConstraintFinding.objects.filter(system=system)
        .order_by("-minute")
        .values_list("minute", flat=True)
        .first()
    )
    if last_evaluated is not None:
        since = min(since, last_evaluated + MINUTE)
    else:
        first = (
            Rollup.objects.filter(stage__in=stages)
            .order_by("minute")
            .values_list("minute", flat=True)
            .first()
        )
        since = min(since, first or since)
    names = [stage.name for stage in stages]
    name_of = {stage.slug: stage.name for stage in stages}
    slug_of = {stage.name: stage.slug for stage in stages}

    previous = (
        ConstraintFinding.objects.filter(system=system, minute__lt=since)
        .order_by("-minute")
        .first()
    )
    tracker = ConstraintTracker()
    if previous is not None:
        tracker = tracker_after(previous, name_of)

    rollups_by_minute: dict[datetime, list[StageRollup]] = defaultdict(list)
    stage_name = {stage.pk: stage.name for stage in stages}
    window_start = since - (WINDOW_MINUTES - 1) * MINUTE
    # Tuples rather than model instances: a run reads hundreds of rows.
    for stage_id, minute, *sums, failure_modes in Rollup.objects.filter(
        stage__in=stages, minute__gte=window_start, minute__lte=last_closed
    ).values_list("stage_id", "minute", *ROLLUP_SUMS, "failure_modes"):
        rollups_by_minute[minute].append(
            stage_rollup(stage_name[stage_id], sums, failure_modes)
        )

    findings: list[ConstraintFinding] = []
    events: list[ConstraintEvent] = []
    # Minutes whose window holds no rollup are skipped in one step, so a gap of
    # months between two samples costs nothing (a minute at a time, it did).
    with_data = sorted(rollups_by_minute)
    minute = since
    while minute <= last_closed:
        window = [
            rollup
            for offset in range(WINDOW_MINUTES)
            for rollup in rollups_by_minute.get(minute - offset * MINUTE, ())
        ]
        if not window:
            later = bisect.bisect_right(with_data, minute)
            if later == len(with_data):
                break
            minute = max(minute + MINUTE, with_data[later])
            continue
        tracker, finding, event = track(
            tracker, minute + MINUTE, ledger_from_rollups(window, names)
        )
        findings.append(
            ConstraintFinding(
                system=system,
                minute=minute,
                stage=slug_of.get(finding.stage, ""),
                headroom=finding.headroom,
                confirmed=slug_of.get(tracker.confirmed, tracker.confirmed or ""),
                candidate=slug_of.get(tracker.candidate, tracker.candidate or ""),
                candidate_since=tracker.candidate_since,
                confirmed_since=tracker.confirmed_since,
            )
        )
        if event is not None:
            events.append(
                ConstraintEvent(
                    system=system,
                    at=event.at,
                    decided_minute=minute,
                    from_stage=slug_of.get(event.from_stage, event.from_stage or ""),
                    to_stage=slug_of.get(event.to_stage, event.to_stage or ""),
                    reason=event.reason,
                    evidence={
                        "finding": finding.reason,
                        "headroom": finding.headroom,
                    },
                )
            )
        minute += MINUTE

    ConstraintFinding.objects.filter(system=system, minute__gte=since).delete()
    ConstraintEvent.objects.filter(system=system, decided_minute__gte=since).delete()
    ConstraintFinding.objects.bulk_create(findings)
    ConstraintEvent.objects.bulk_create(events)


def _refresh_ledger(
    system: System,
    stages: Sequence[Stage],
    latest: datetime | None,
    newest: dict[int, tuple[datetime | None, datetime | None]],
) -> None:
    """The current ledger: the last WINDOW_S s of sample time, from raw samples,
    judged with the tracker as the last closed minute left it."""
    payload = None
    if latest is not None:
        start = latest - timedelta(seconds=WINDOW_S)
        name_of = {stage.pk: stage.name for stage in stages}
        window = Sample.objects.filter(
            stage__in=stages, ts__gt=start, ts__lte=latest
        ).order_by("stage_id", "ts")
        samples = [
            StageSample(name_of[stage_id], *values)
            for stage_id, *values in window.values_list("stage_id", *SAMPLE_FIELDS)
        ]
        rows = ledger_rows(samples, [s.name for s in stages], latest, WINDOW_S)
        last_finding = (
            ConstraintFinding.objects.filter(system=system).order_by("-minute").first()
        )
        tracker = None
        if last_finding is not None:
            tracker = tracker_after(
                last_finding, {stage.slug: stage.name for stage in stages}
            )
        payload = ledger_payload(
            stages,
            rows,
            latest,
            tracker,
            {name_of[stage_id]: times for stage_id, times in newest.items()},
        )
    snapshot = {
        "payload": payload,
        "computed_at": timezone.now(),
        "window_end": latest,
    }
    # One UPDATE, which leaves the processing flag to ingest; the row exists
    # once a batch has been stored, so creating it is rare.
    if not SystemLedger.objects.filter(system=system).update(**snapshot):
        SystemLedger.objects.update_or_create(system=system, defaults=snapshot)
