"""The read side of the ledger: the snapshot processing stores, in the API's shape,
with where the constraint stands over time and how fresh the data is."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from django.utils import timezone

from toc.analysis import (
    DEFAULT_HOLD_S,
    ConstraintFinding,
    ConstraintTracker,
    LedgerRow,
    assess_backlog,
    find_constraint,
)
from toc.lib.formats import json_number
from toc.metrics.models import SystemLedger
from toc.systems.models import Stage, System

WINDOW_S = 300
# A ledger is stale once its newest sample is older than this many of the
# pipeline's usual posting intervals: one late batch happens, three in a row do not.
STALE_INTERVALS = 3
# ...and at least this old, so that a pipeline posting every few seconds is not
# called stale for a batch that is a little late.
MIN_STALE_S = 120.0


def stale_after_s(posting_interval_s: float | None) -> float:
    if posting_interval_s is None:
        return MIN_STALE_S
    return max(MIN_STALE_S, STALE_INTERVALS * posting_interval_s)


def ledger_response(system: System, now: datetime | None = None) -> dict:
    """What the ledger API returns: the stored ledger, or an empty one before data,
    with ``stale`` and ``age_s`` measured against ``now`` (wall-clock time)."""
    ledger = SystemLedger.objects.filter(system=system).first()
    if ledger is None or ledger.payload is None:
        stages = list(system.stages.all())
        payload = ledger_payload(stages, [LedgerRow(s.name) for s in stages], None)
        return {"computed_at": None, **payload, "stale": False, "age_s": None}
    return {
        # Processing stores the payload and its time together.
        "computed_at": cast(datetime, ledger.computed_at).isoformat(),
        **ledger.payload,
        **freshness(ledger.payload, now or timezone.now()),
    }


def freshness(payload: dict, now: datetime) -> dict:
    """``age_s``, the seconds since the payload's newest sample, and ``stale``."""
    newest = payload.get("last_sample_at") or payload.get("window_end")
    if newest is None:
        return {"stale": False, "age_s": None}
    age_s = max(0.0, (now - datetime.fromisoformat(newest)).total_seconds())
    limit = payload.get("stale_after_s") or MIN_STALE_S
    return {"stale": age_s > limit, "age_s": age_s}


def ledger_payload(
    stages: Sequence[Stage],
    rows: Sequence[LedgerRow],
    window_end: datetime | None,
    tracker: ConstraintTracker | None = None,
    newest: Mapping[str, tuple[datetime | None, datetime | None]] | None = None,
) -> dict:
    """The ledger in the API's shape: slugs identify stages, names label them.

    ``tracker`` is where constraint tracking stood after the last closed minute
    (names, not slugs): the live verdict takes its leader as the incumbent of a
    near tie, and it says which stage holds the constraint and since when.
    ``newest`` maps stage names to their newest sample ever and the one before
    it, for silent stages and for the posting interval of a pipeline that posts
    less often than once a window.
    """
    tracker = tracker or ConstraintTracker()
    finding = find_constraint(rows, incumbent=tracker.leader)
    slug_of = {stage.name: stage.slug for stage in stages}
    kind_of = {stage.name: str(stage.kind) for stage in stages}
    headroom_of = {a.stage: a.headroom for a in finding.assessments}
    newest = newest or {row.stage: (row.last_sample_at, None) for row in rows}
    last_of = {row.stage: newest.get(row.stage, (None, None))[0] for row in rows}
    posting_intervals = [
        _posting_interval(row, *newest.get(row.stage, (None, None))) for row in rows
    ]
    intervals = [each for each in posting_intervals if each is not None]
    interval = statistics.median(intervals) if intervals else None
    stale_after = stale_after_s(interval)
    held, emerging = _standing(finding, tracker, window_end, slug_of)
    constraint = None
    if finding.stage:
        constraint = {
            "stage": slug_of[finding.stage],
            "name": finding.stage,
            "headroom": json_number(finding.headroom),
            "confidence": round(finding.confidence, 3),
            "confidence_label": str(finding.confidence_label),
            "reason": finding.reason,
            "held_since": held["since"]
            if held and held["name"] == finding.stage
            else None,
        }
    return {
        "window_end": _iso(window_end),
        "window_s": WINDOW_S,
        "last_sample_at": _iso(window_end),
        "posting_interval_s": json_number(interval),
        "stale_after_s": stale_after,
        "ceiling": json_number(finding.ceiling),
        "max_input_rate": json_number(finding.max_input_rate),
        "constraint": constraint,
        "external_constraint": finding.external,
        "reason": finding.reason,
        "confidence": round(finding.confidence, 3),
        "confidence_label": str(finding.confidence_label),
        "near_tie": (
            None if finding.near_tie is None else _stage_ref(finding.near_tie, slug_of)
        ),
        "next_constraint": (
            {
                "stage": slug_of[finding.next_constraint],
                "name": finding.next_constraint,
                "lift": json_number(finding.lift),
            }
            if finding.next_constraint
            else None
        ),
        "held": held,
        "emerging": emerging,
        "stages": [
            _row_payload(
                row,
                slug_of[row.stage],
                kind_of[row.stage],
                headroom_of,
                last_of[row.stage],
                _silent(last_of[row.stage], window_end, stale_after),
            )
            for row in rows
        ],
    }


def _standing(
    finding: ConstraintFinding,
    tracker: ConstraintTracker,
    window_end: datetime | None,
    slug_of: dict[str, str],
) -> tuple[dict | None, dict | None]:
    """Which stage holds the constraint (a move recorded it) and, when the live
    verdict names another, that stage as emerging: leading, not yet for the hold
    period. A None stage in either is outside the pipeline."""
    held = None
    if tracker.confirmed_since is not None:
        held = {
            **_stage_ref(tracker.confirmed, slug_of),
            "since": _iso(tracker.confirmed_since),
        }
    has_verdict = finding.stage is not None or finding.external
    if window_end is None or not has_verdict or finding.stage == tracker.confirmed:
        return held, None
    since = window_end
    if tracker.candidate_since is not None and tracker.candidate == finding.stage:
        since = tracker.candidate_since
    leading_s = max(0.0, (window_end - since).total_seconds())
    return held, {
        **_stage_ref(finding.stage, slug_of),
        "since": _iso(since),
        "leading_s": leading_s,
        "hold_s": DEFAULT_HOLD_S,
    }


def _stage_ref(name: str | None, slug_of: dict[str, str]) -> dict:
    if name is None:
        return {"stage": None, "name": None}
    return {"stage": slug_of.get(name, name), "name": name}


def _posting_interval(
    row: LedgerRow, last: datetime | None, before: datetime | None
) -> float | None:
    """The stage's usual time between samples: the mean over the window, or with
    fewer than two samples in it, the last gap."""
    if row.posting_interval_s is not None:
        return row.posting_interval_s
    if last is None or before is None:
        return None
    return (last - before).total_seconds()


def _silent(
    newest: datetime | None, window_end: datetime | None, stale_after: float
) -> bool:
    """A stage is silent when the rest of the system reports and it has not for as
    long as would make the whole ledger stale."""
    if window_end is None:
        return False
    return newest is None or (window_end - newest).total_seconds() > stale_after


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _row_payload(
    row: LedgerRow,
    slug: str,
    kind: str,
    headroom_of: dict,
    last_sample_at: datetime | None,
    silent: bool,
) -> dict:
    backlog = assess_backlog(row) if row.has_data else None
    return {
        "stage": slug,
        "name": row.stage,
        "kind": kind,
        "samples": row.samples,
        "capacity": row.capacity,
        "load": row.load,
        "utilization": row.utilization,
        "blocked": row.blocked,
        "latency_p95_ms": row.latency_p95_ms,
        "queue_depth": row.queue_depth,
        "queue_trend": row.queue_trend,
        "queue_trend_noise": json_number(row.queue_trend_noise)
        if row.has_data
        else None,
        "queue_growing": row.queue_growing,
        "backlog_state": str(backlog.state) if backlog else None,
        "queue_seconds": json_number(backlog.queue_seconds) if backlog else None,
        "drain_time_s": json_number(backlog.drain_seconds) if backlog else None,
        "headroom": json_number(headroom_of.get(row.stage)),
        "failure_mode": row.failure_mode,
        "errors": row.errors,
        "dropped": row.dropped,
        "first_sample_at": _iso(row.first_sample_at),
        "last_sample_at": _iso(last_sample_at),
        "silent": silent,
    }


def rows_from_payload(payload: dict) -> list[LedgerRow]:
    """The ledger rows a stored payload was made from, for what-if questions.

    Snapshots stored before the queue's noise was kept read as clean lines.
    """
    return [
        LedgerRow(
            stage=row["name"],
            samples=row["samples"],
            capacity=row["capacity"],
            load=row["load"],
            utilization=row["utilization"],
            blocked=row["blocked"],
            latency_p95_ms=row["latency_p95_ms"],
            queue_depth=row["queue_depth"],
            queue_trend=row["queue_trend"],
            failure_mode=row["failure_mode"],
            errors=row["errors"],
            dropped=row["dropped"],
            queue_trend_noise=_noise(row),
        )
        for row in payload["stages"]
    ]


def _noise(row: dict) -> float:
    # JSON has no infinity: a row with data and a null noise had too few readings.
    if "queue_trend_noise" not in row:
        return 0.0
    noise = row["queue_trend_noise"]
    return float("inf") if noise is None and row["samples"] else (noise or 0.0)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the constraint stands, as every page says it: the stage that holds it
    (a recorded move put it there) or, before any move, the one emerging; and a
    challenger that leads but has not yet held for the hold period.

    ``stage`` is a slug, None for outside the pipeline (``external``) or when
    nothing is known.
    """

    stage: str | None
    name: str | None
    external: bool
    held: bool
    since: datetime | None
    # A stage that leads the window beside the held one (None: outside).
    challenged: bool = False
    challenger: str | None = None
    challenger_stage: str | None = None
    leading_min: int = 0
    hold_min: int = 0

    @property
    def where(self) -> str:
        return self.name or ("outside the pipeline" if self.external else "unknown")

    @property
    def challenger_where(self) -> str:
        return self.challenger or "outside the pipeline"


# What constraint_standing and freshness read of a stored ledger.
STANDING_KEYS = (
    "constraint",
    "external_constraint",
    "held",
    "emerging",
    "last_sample_at",
    "window_end",
    "stale_after_s",
)


def standing_payload(system: System) -> dict | None:
    """The stored ledger's keys for its standing and freshness (None before data):
    pages that only say where the constraint stands skip every stage's row."""
    values = (
        SystemLedger.objects.filter(system=system, payload__isnull=False)
        .values_list(*(f"payload__{key}" for key in STANDING_KEYS))
        .first()
    )
    return None if values is None else dict(zip(STANDING_KEYS, values, strict=True))


def constraint_standing(ledger: dict) -> Standing | None:
    """The standing of a ledger response (None before any verdict)."""
    held, emerging = ledger.get("held"), ledger.get("emerging")
    leading = {}
    if emerging:
        leading = {
            "leading_min": int(emerging["leading_s"] // 60),
            "hold_min": round(emerging["hold_s"] / 60),
        }
    leader = held or emerging
    if leader:
        challenger = emerging if held else None
        return Standing(
            stage=leader["stage"],
            name=leader["name"],
            external=leader["stage"] is None,
            held=leader is held,
            since=datetime.fromisoformat(leader["since"]),
            challenged=challenger is not None,
            challenger=challenger["name"] if challenger else None,
            challenger_stage=challenger["stage"] if challenger else None,
            **leading,
        )
    constraint = ledger.get("constraint")
    if constraint is None and not ledger.get("external_constraint"):
        return None
    return Standing(
        stage=constraint["stage"] if constraint else None,
        name=constraint["name"] if constraint else None,
        external=constraint is None,
        held=False,
        since=None,
    )
