"""Turning stored samples into rollups, constraint findings, events and the
ledger: one run per system (system_process), under a lock, for the minutes it owes.

Everything is measured in sample time (`ts`), so a backfilled hour gives the
same results as the same hour posted live, and late samples land where they
belong: a changed minute is re-rolled and the findings after it replayed.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from toc.analysis import (
    ConstraintTracker,
    StageRollup,
    ledger_from_rollups,
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
from toc.metrics.rollups import (
    MINUTE,
    ROLLUP_SUMS,
    floor_minute,
    refresh_rollups,
    stage_rollup,
    window_ledger_rows,
)
from toc.systems.models import Stage, System

# The findings of one closed minute look back over this many rollup minutes.
WINDOW_MINUTES = WINDOW_S // 60


# A run goes once per batch, so its fixed reads and writes are plain SQL: as
# querysets, building them took a third of the run's CPU (the fleet benchmark's
# worker CPU per system-minute). raw() still converts each field as the ORM does.
_STAGES_SQL = "SELECT * FROM systems_stage WHERE system_id = %s ORDER BY position, id"
_LAST_FINDING_SQL = (
    "SELECT * FROM metrics_constraintfinding WHERE system_id = %s "
    "ORDER BY minute DESC LIMIT 1"
)


def system_process(*, system_id: int) -> None:
    """Processes everything the system owes; safe to run again or concurrently."""
    # Cleared before reading, so a batch committed from here on enqueues anew.
    SystemLedger.release(system_id)
    with transaction.atomic():
        _lock_system(system_id)
        stages = list(Stage.objects.raw(_STAGES_SQL, [system_id]))
        if not stages and not System.objects.filter(pk=system_id).exists():
            return
        owed = _take_owed_minutes(system_id)
        newest = newest_sample_ts(stages)
        latest = max((last for last, _ in newest.values() if last), default=None)
        last_finding = next(
            iter(ConstraintFinding.objects.raw(_LAST_FINDING_SQL, [system_id])), None
        )
        if owed:
            refresh_rollups(stages, owed)
            last_finding = _replay_findings(
                system_id,
                stages,
                since=min(m for _, m in owed),
                latest=latest,
                last_finding=last_finding,
            )
        _refresh_ledger(system_id, stages, latest, newest, last_finding)


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


def newest_sample_ts(
    stages: Sequence[Stage],
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Each stage's newest sample time and the one before it, by stage id."""
    if connection.vendor == "postgresql":
        # The ORM's version of this query cost a processing run a millisecond
        # to build (the fleet benchmark's worker CPU per system-minute).
        stage_ids = [stage.pk for stage in stages]
        # With a default partition, which may hold any day, PostgreSQL cannot
        # read the day partitions newest first and probes each of them; the
        # last day's probe finds a live stage's two newest, and only the
        # stages it leaves short are asked across every partition.
        recent = timezone.now() - timedelta(days=1)
        found = _newest_two(stage_ids, since=recent)
        short = [stage_id for stage_id in stage_ids if not found[stage_id][1]]
        if short:
            found |= _newest_two(short, since=None)
        return found
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


_NEWEST_SQL = """
SELECT s.stage_id, n.ts
FROM unnest(%(stage_ids)s::bigint[]) AS s(stage_id)
CROSS JOIN LATERAL (
    SELECT ts FROM metrics_sample
    WHERE stage_id = s.stage_id AND ts >= %(since)s::timestamptz
    ORDER BY ts DESC LIMIT 2
) n
"""


def _newest_two(
    stage_ids: list[int], since: datetime | None
) -> dict[int, tuple[datetime | None, datetime | None]]:
    rows = wire.execute(
        _NEWEST_SQL,
        {"stage_ids": stage_ids, "since": since or "-infinity"},
        fetch=True,
    )
    times: dict[int, list[datetime]] = {stage_id: [] for stage_id in stage_ids}
    for stage_id, ts in rows:
        times[stage_id].append(ts)
    return {
        stage_id: (max(found, default=None), min(found) if len(found) == 2 else None)
        for stage_id, found in times.items()
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
    system_id: int,
    stages: Sequence[Stage],
    since: datetime,
    latest: datetime | None,
    last_finding: ConstraintFinding | None,
) -> ConstraintFinding | None:
    """Re-evaluates the constraint for each closed minute from `since` onwards;
    returns the system's last finding after that.

    A minute is closed once the system has a sample from a later minute; only
    closed minutes are evaluated, so a half-filled minute never decides a move.
    """
    if latest is None:
        return last_finding
    last_closed = floor_minute(latest) - MINUTE
    findings_of_system = ConstraintFinding.objects.filter(system_id=system_id)
    if last_finding is not None:
        # Minutes that were still open when last processed are owed an evaluation.
        since = min(since, last_finding.minute + MINUTE)
        # Batches within the open minute (five in six, posting every 10 s)
        # change no closed minute, so there is nothing to evaluate.
        if since > last_closed:
            return last_finding
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
    # Findings name a stage, or None for one outside the pipeline.
    slug_of: dict[str | None, str] = {stage.name: stage.slug for stage in stages}

    previous = last_finding
    if previous is None or previous.minute >= since:  # late data: replay from before
        previous = (
            findings_of_system.filter(minute__lt=since).order_by("-minute").first()
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
                system_id=system_id,
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
                    system_id=system_id,
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

    if last_finding is None or since <= last_finding.minute:  # a replay
        findings_of_system.filter(minute__gte=since).delete()
        ConstraintEvent.objects.filter(
            system_id=system_id, decided_minute__gte=since
        ).delete()
    ConstraintFinding.objects.bulk_create(findings)
    if events:
        ConstraintEvent.objects.bulk_create(events)
    return findings[-1] if findings else previous


def _refresh_ledger(
    system_id: int,
    stages: Sequence[Stage],
    latest: datetime | None,
    newest: dict[int, tuple[datetime | None, datetime | None]],
    last_finding: ConstraintFinding | None,
) -> None:
    """The current ledger: the last WINDOW_S s of sample time, from raw samples,
    judged with the tracker as the last closed minute (`last_finding`) left it."""
    payload = None
    if latest is not None:
        name_of = {stage.pk: stage.name for stage in stages}
        rows = window_ledger_rows(stages, latest, WINDOW_S)
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
    computed_at = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    # One UPDATE, which leaves the processing flag to ingest; the row exists
    # once a batch has been stored, so creating it is rare.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE metrics_systemledger SET payload = %s, computed_at = %s, "
            "window_end = %s WHERE system_id = %s",
            [
                None if payload is None else json.dumps(payload),
                adapt(computed_at),
                adapt(latest),
                system_id,
            ],
        )
        updated = cursor.rowcount
    if not updated:
        SystemLedger.objects.update_or_create(
            system_id=system_id,
            defaults={
                "payload": payload,
                "computed_at": computed_at,
                "window_end": latest,
            },
        )
