"""Which stage limits the pipeline, how sure we are, and what limits it next.

Stages see different shares of the traffic (a cascade passes only a few percent on),
so the stage with the smallest capacity is often not the constraint: everything here
ranks stages by headroom, never by capacity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from toc.analysis.ledger import LedgerRow
from toc.analysis.validation import require_unique

SATURATION = 0.85
# A stage waiting on its successor at least this share of the time is held back.
BLOCKED_SHARE = 0.5
# Headroom ratio between runner-up and constraint at which the ranking is unambiguous.
DECISIVE_MARGIN = 1.5
# Below this headroom ratio two stages are tied: five-minute means of utilization
# move by a point or two between windows, so 90% against 93% busy is no verdict
# (in queueing simulations, 4% kept equal stages from flapping and still named a
# 95% stage beside an 88% one in every run).
NEAR_TIE_MARGIN = 1.04
SEPARATION_WEIGHT = 0.6
QUEUE_WEIGHT = 0.4
HIGH_CONFIDENCE = 0.75
MEDIUM_CONFIDENCE = 0.4
# A near tie is never more than low confidence, whatever the queues say.
NEAR_TIE_CONFIDENCE = 0.3


class ConfidenceLabel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class StageAssessment:
    """How one stage with data stands against the saturation threshold.

    ``headroom`` is the row's headroom (1 / busy share). ``queue_growing`` is the
    row's sustained-growth test. ``pressure_from`` names, for a held-back stage, the
    busy stage downstream that it waits on (None when no busy stage explains the
    wait).
    """

    stage: str
    headroom: float
    saturated: bool
    queue_growing: bool
    held_back: bool
    pressure_from: str | None

    @property
    def is_candidate(self) -> bool:
        return not self.held_back and (self.saturated or self.queue_growing)


@dataclass(frozen=True, slots=True)
class ConstraintFinding:
    """The constraint of one ledger.

    ``stage`` is None either because the constraint is outside the pipeline
    (``external``) or because no stage reported data (not ``external``).
    ``headroom`` and ``next_headroom`` are headrooms (1 / busy share).
    ``ceiling`` is the least headroom over the stages with data: the factor by which
    system load can grow before the first stage is fully busy, assuming every stage's
    load grows in proportion. ``max_input_rate`` is that factor applied to the load of
    the first stage with data (the pipeline's input rate); None when that load is 0.
    ``lift`` is the factor by which the constraint's capacity must grow before
    ``next_constraint`` becomes the tighter stage (only for an internal constraint).
    ``near_tie`` names the stage whose headroom is within NEAR_TIE_MARGIN of the
    constraint's (for an external constraint: the tightest stage, when it is that
    close to the threshold); the verdict is then low confidence.
    """

    stage: str | None
    external: bool
    headroom: float | None
    confidence: float
    confidence_label: ConfidenceLabel
    reason: str
    next_constraint: str | None
    next_headroom: float | None
    lift: float | None
    ceiling: float | None
    max_input_rate: float | None
    assessments: tuple[StageAssessment, ...]
    near_tie: str | None = None


def is_held_back(row: LedgerRow, saturation: float = SATURATION) -> bool:
    """Whether the stage only looks busy because it waits on its successor.

    Blocked is not busy: the stage is held back when it is not busy enough to be
    saturated and either spends at least ``BLOCKED_SHARE`` of its time blocked or
    reaches the threshold only by counting the blocked time.
    """
    busy = row.busy
    if row.blocked is None or row.utilization is None or busy is None:
        return False
    return busy < saturation and (
        row.blocked >= BLOCKED_SHARE or row.utilization >= saturation
    )


def assess_stages(
    rows: Sequence[LedgerRow], saturation: float = SATURATION
) -> list[StageAssessment]:
    """Assessments of the stages with data, in pipeline order."""
    if not 0 < saturation <= 1:
        raise ValueError("saturation must be in (0, 1]")
    require_unique([row.stage for row in rows], "ledger stages")
    measured = [row for row in rows if row.has_data]
    held_back = [is_held_back(row, saturation) for row in measured]
    candidate = [
        not held and (_is_saturated(row, saturation) or row.queue_growing)
        for row, held in zip(measured, held_back, strict=True)
    ]
    return [
        StageAssessment(
            stage=row.stage,
            headroom=row.measured().headroom,
            saturated=_is_saturated(row, saturation),
            queue_growing=row.queue_growing,
            held_back=held,
            pressure_from=(
                _pressure_source(measured, held_back, candidate, index)
                if held
                else None
            ),
        )
        for index, (row, held) in enumerate(zip(measured, held_back, strict=True))
    ]


def _is_saturated(row: LedgerRow, saturation: float) -> bool:
    return row.busy is not None and row.busy >= saturation


def _pressure_source(
    measured: list[LedgerRow],
    held_back: list[bool],
    candidate: list[bool],
    index: int,
) -> str | None:
    # Back-pressure only travels through stages that are blocked themselves, so the
    # walk stops at the first downstream stage that is not held back.
    for downstream in range(index + 1, len(measured)):
        if not held_back[downstream]:
            return measured[downstream].stage if candidate[downstream] else None
    return None


def find_constraint(
    rows: Sequence[LedgerRow],
    saturation: float = SATURATION,
    incumbent: str | None = None,
) -> ConstraintFinding:
    """The constraint of a ledger given in pipeline order.

    Candidates are stages that are not held back and are saturated (busy share at or
    above ``saturation``) or have a queue that grows in a sustained way. Utilization
    leads: the constraint is the candidate with the least headroom. Candidates within
    NEAR_TIE_MARGIN of that headroom are tied, and the tie goes to a growing queue,
    then to ``incumbent`` (the stage that led so far, so that noise does not flip a
    tie back and forth), then to the faster-growing queue in seconds of work, then
    to the least headroom, then upstream.

    Confidence = 0.6 x separation + 0.4 x queue evidence. Separation grows linearly
    from 0 when the runner-up has the same headroom to 1 when it has 1.5x as much;
    the queue evidence is 1 when the constraint's queue grows beyond its own noise.
    A near tie is at most NEAR_TIE_CONFIDENCE. With an external constraint,
    separation compares the tightest stage's headroom with the headroom it would
    have at the threshold, and the queue evidence is 1 when no queue grows.
    """
    assessments = assess_stages(rows, saturation)
    if not assessments:
        return ConstraintFinding(
            stage=None,
            external=False,
            headroom=None,
            confidence=0.0,
            confidence_label=ConfidenceLabel.LOW,
            reason="No stage reported samples in the window, "
            "so there is no constraint to name.",
            next_constraint=None,
            next_headroom=None,
            lift=None,
            ceiling=None,
            max_input_rate=None,
            assessments=(),
        )
    by_stage = {row.stage: row for row in rows}
    # sorted() is stable, so exact ties keep pipeline order: upstream first.
    ranked = sorted(assessments, key=lambda assessment: assessment.headroom)
    ceiling = ranked[0].headroom
    entry_load = next(row.measured().load for row in rows if row.has_data)
    max_input_rate = ceiling * entry_load if entry_load > 0 else None
    notes = _held_back_notes(assessments, by_stage, saturation)
    candidates = [item for item in ranked if item.is_candidate]
    if not candidates:
        return _external_finding(
            assessments, ranked[0], by_stage, saturation, max_input_rate, notes
        )
    least = candidates[0].headroom
    constraint = min(
        (item for item in candidates if _tied(item.headroom, least)),
        key=lambda item: (
            not item.queue_growing,
            item.stage != incumbent,
            -_backlog_growth(by_stage[item.stage]) if item.queue_growing else 0.0,
            item.headroom,
        ),
    )
    runner_up = next((item for item in ranked if item is not constraint), None)
    margin = math.inf if runner_up is None else runner_up.headroom / constraint.headroom
    near_tie = (
        runner_up.stage
        if runner_up is not None and _tied(runner_up.headroom, constraint.headroom)
        else None
    )
    confidence = _confidence(_separation(margin), constraint.queue_growing)
    if near_tie is not None:
        confidence = min(confidence, NEAR_TIE_CONFIDENCE)
    row = by_stage[constraint.stage]
    return ConstraintFinding(
        stage=constraint.stage,
        external=False,
        headroom=constraint.headroom,
        confidence=confidence,
        confidence_label=_label(confidence),
        reason=_internal_reason(
            constraint, row, runner_up, margin, saturation, near_tie is not None
        )
        + notes,
        next_constraint=None if runner_up is None else runner_up.stage,
        next_headroom=None if runner_up is None else runner_up.headroom,
        lift=_lift(constraint.headroom, runner_up),
        ceiling=ceiling,
        max_input_rate=max_input_rate,
        assessments=tuple(assessments),
        near_tie=near_tie,
    )


def _tied(headroom: float, least: float) -> bool:
    """Whether ``headroom`` is within NEAR_TIE_MARGIN of the ``least`` one."""
    if math.isinf(least):
        return math.isinf(headroom)
    return min(headroom, least) * NEAR_TIE_MARGIN >= max(headroom, least)


def _external_finding(
    assessments: list[StageAssessment],
    tightest: StageAssessment,
    by_stage: dict[str, LedgerRow],
    saturation: float,
    max_input_rate: float | None,
    notes: str,
) -> ConstraintFinding:
    threshold_headroom = 1 / saturation
    near_tie = tightest.stage if _tied(tightest.headroom, threshold_headroom) else None
    separation = _separation(tightest.headroom * saturation)
    no_queue_grows = not any(item.queue_growing for item in assessments)
    confidence = _confidence(separation, no_queue_grows)
    if near_tie is not None:
        confidence = min(confidence, NEAR_TIE_CONFIDENCE)
    return ConstraintFinding(
        stage=None,
        external=True,
        headroom=None,
        confidence=confidence,
        confidence_label=_label(confidence),
        reason=_external_reason(tightest, by_stage[tightest.stage], saturation) + notes,
        next_constraint=tightest.stage,
        next_headroom=tightest.headroom,
        lift=None,
        ceiling=tightest.headroom,
        max_input_rate=max_input_rate,
        assessments=tuple(assessments),
        near_tie=near_tie,
    )


def _backlog_growth(row: LedgerRow) -> float:
    """Queue growth in seconds of work per second, so that stages with different
    traffic compare fairly."""
    measured = row.measured()
    if measured.capacity > 0:
        return measured.queue_trend / measured.capacity
    return math.inf


def _lift(headroom: float, runner_up: StageAssessment | None) -> float | None:
    """Capacity factor at which the constraint's ``headroom`` reaches the
    runner-up's. Floored at 1: when the constraint leads a near tie or only because
    its queue grows, the runner-up is tighter as soon as the constraint keeps up."""
    if runner_up is None or math.isinf(headroom):
        return None
    return max(1.0, runner_up.headroom / headroom)


def _separation(margin: float) -> float:
    return min(1.0, max(0.0, (margin - 1) / (DECISIVE_MARGIN - 1)))


def _confidence(separation: float, queue_confirms: bool) -> float:
    return SEPARATION_WEIGHT * separation + QUEUE_WEIGHT * float(queue_confirms)


def _label(confidence: float) -> ConfidenceLabel:
    if confidence >= HIGH_CONFIDENCE:
        return ConfidenceLabel.HIGH
    if confidence >= MEDIUM_CONFIDENCE:
        return ConfidenceLabel.MEDIUM
    return ConfidenceLabel.LOW


def _describe_load(row: LedgerRow) -> str:
    if row.blocked is None:
        return f"runs at {row.utilization:.0%} utilization"
    return (
        f"is busy {row.busy:.0%} of the time "
        f"({row.utilization:.0%} utilization, {row.blocked:.0%} blocked)"
    )


def _internal_reason(
    constraint: StageAssessment,
    row: LedgerRow,
    runner_up: StageAssessment | None,
    margin: float,
    saturation: float,
    near_tie: bool,
) -> str:
    if constraint.saturated and constraint.queue_growing:
        evidence = (
            f", at or above the {saturation:.0%} saturation threshold, with its "
            f"queue growing by {_rate(row.measured().queue_trend)} records/s"
        )
    elif constraint.queue_growing:
        evidence = (
            f", below the {saturation:.0%} saturation threshold but with its queue "
            f"growing by {_rate(row.measured().queue_trend)} records/s: "
            "it is about to saturate"
        )
    else:
        evidence = f", at or above the {saturation:.0%} saturation threshold"
    if runner_up is None:
        comparison = "it is the only stage reporting data"
    elif math.isinf(runner_up.headroom):
        comparison = f"the next closest stage, {runner_up.stage}, is idle"
    elif near_tie:
        comparison = (
            f"{runner_up.stage} is nearly as close to its limit "
            f"({margin:.2f}× the headroom), so the two are tied and either may "
            "limit the pipeline"
        )
    else:
        comparison = (
            f"the next closest stage, {runner_up.stage}, "
            f"has {margin:.1f}× more headroom"
        )
    return f"{row.stage} {_describe_load(row)}{evidence}; {comparison}."


def _rate(value: float) -> str:
    # Human stages grow by fractions of a record per second.
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2g}"


def _external_reason(
    tightest: StageAssessment, row: LedgerRow, saturation: float
) -> str:
    reason = (
        f"No unblocked stage is busy at or above {saturation:.0%} or has a growing "
        "queue, so the constraint is outside the pipeline (demand or policy)."
    )
    if math.isinf(tightest.headroom):
        return reason + " Every stage is idle."
    return (
        f"{reason} The closest to saturation is {row.stage}, which "
        f"{_describe_load(row)}: load can grow {tightest.headroom:.2f}x "
        "before it is fully busy."
    )


def _held_back_notes(
    assessments: list[StageAssessment],
    by_stage: dict[str, LedgerRow],
    saturation: float,
) -> str:
    notes = []
    for assessment in assessments:
        row = by_stage[assessment.stage]
        if not assessment.held_back or not (
            row.measured().utilization >= saturation or assessment.queue_growing
        ):
            continue
        waits_on = assessment.pressure_from or "downstream stages that are not busy"
        notes.append(
            f" {row.stage} is blocked {row.blocked:.0%} of the time waiting on "
            f"{waits_on}, so its {row.utilization:.0%} utilization does not make it "
            "the constraint."
        )
    return "".join(notes)
