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

from toc.analysis.ledger import QUEUE_TREND_EPSILON, LedgerRow
from toc.analysis.validation import require_unique

SATURATION = 0.85
# A stage waiting on its successor at least this share of the time is held back.
BLOCKED_SHARE = 0.5
# Headroom ratio between runner-up and constraint at which the ranking is unambiguous.
DECISIVE_MARGIN = 1.5
SEPARATION_WEIGHT = 0.6
QUEUE_WEIGHT = 0.4
HIGH_CONFIDENCE = 0.75
MEDIUM_CONFIDENCE = 0.4


class ConfidenceLabel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class StageAssessment:
    """How one stage with data stands against the saturation threshold.

    ``headroom`` is the row's headroom, except that a stage whose queue grows on its
    own account gets at most 1: arrivals already exceed what it finishes, whatever its
    utilization says. ``pressure_from`` names, for a held-back stage, the busy stage
    downstream that it waits on (None when no busy stage explains the wait).
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
    ``headroom`` and ``next_headroom`` are the assessed (queue-aware) headrooms.
    ``ceiling`` is the least headroom over the stages with data: the factor by which
    system load can grow before the first stage is fully busy, assuming every stage's
    load grows in proportion. ``max_input_rate`` is that factor applied to the load of
    the first stage with data (the pipeline's input rate); None when that load is 0.
    ``lift`` is the factor by which the constraint's capacity must grow before
    ``next_constraint`` becomes the tighter stage (only for an internal constraint).
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


def is_held_back(row: LedgerRow, saturation: float = SATURATION) -> bool:
    """Whether the stage only looks busy because it waits on its successor.

    Blocked is not busy: the stage is held back when it is not busy enough to be
    saturated and either spends at least ``BLOCKED_SHARE`` of its time blocked or
    reaches the threshold only by counting the blocked time.
    """
    if row.blocked is None or row.utilization is None:
        return False
    return row.busy < saturation and (
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
        not held and (_is_saturated(row, saturation) or _queue_grows(row))
        for row, held in zip(measured, held_back, strict=True)
    ]
    return [
        StageAssessment(
            stage=row.stage,
            headroom=_effective_headroom(row, held),
            saturated=_is_saturated(row, saturation),
            queue_growing=_queue_grows(row),
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


def _queue_grows(row: LedgerRow) -> bool:
    return row.queue_trend is not None and row.queue_trend > QUEUE_TREND_EPSILON


def _effective_headroom(row: LedgerRow, held_back: bool) -> float:
    if _queue_grows(row) and not held_back:
        return min(row.headroom, 1.0)
    return row.headroom


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
    rows: Sequence[LedgerRow], saturation: float = SATURATION
) -> ConstraintFinding:
    """The constraint of a ledger given in pipeline order.

    Candidates are stages that are not held back and are saturated (busy share at or
    above ``saturation``) or have a growing queue. The constraint is the candidate with
    the least headroom; ties go to the faster-growing queue (in seconds of work per
    second, so stages with different traffic compare fairly), then to the upstream
    stage. Because candidates have headroom at most 1 / ``saturation`` and every other
    stage more, the constraint always has the least headroom of all stages, so it sets
    the ceiling.

    Confidence = 0.6 x separation + 0.4 x queue evidence. Separation grows linearly
    from 0 when the runner-up has the same headroom to 1 when it has 1.5x as much;
    the queue evidence is 1 when the constraint's queue grows. With an external
    constraint, separation compares the tightest stage's headroom with the headroom
    it would have at the threshold, and the queue evidence is 1 when no queue grows.
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
    ranked = sorted(
        assessments,
        key=lambda assessment: (
            assessment.headroom,
            -_backlog_growth(by_stage[assessment.stage]),
            by_stage[assessment.stage].headroom,
        ),
    )
    ceiling = ranked[0].headroom
    entry_load = next(row.load for row in rows if row.has_data)
    max_input_rate = ceiling * entry_load if entry_load > 0 else None
    notes = _held_back_notes(assessments, by_stage, saturation)
    constraint = next((item for item in ranked if item.is_candidate), None)
    if constraint is None:
        tightest = ranked[0]
        separation = _separation(tightest.headroom * saturation)
        no_queue_grows = not any(item.queue_growing for item in assessments)
        confidence = _confidence(separation, no_queue_grows)
        return ConstraintFinding(
            stage=None,
            external=True,
            headroom=None,
            confidence=confidence,
            confidence_label=_label(confidence),
            reason=_external_reason(tightest, by_stage[tightest.stage], saturation)
            + notes,
            next_constraint=tightest.stage,
            next_headroom=tightest.headroom,
            lift=None,
            ceiling=ceiling,
            max_input_rate=max_input_rate,
            assessments=tuple(assessments),
        )
    runner_up = next((item for item in ranked if item is not constraint), None)
    margin = math.inf if runner_up is None else runner_up.headroom / constraint.headroom
    confidence = _confidence(_separation(margin), constraint.queue_growing)
    return ConstraintFinding(
        stage=constraint.stage,
        external=False,
        headroom=constraint.headroom,
        confidence=confidence,
        confidence_label=_label(confidence),
        reason=_internal_reason(
            constraint, by_stage[constraint.stage], runner_up, margin, saturation
        )
        + notes,
        next_constraint=None if runner_up is None else runner_up.stage,
        next_headroom=None if runner_up is None else runner_up.headroom,
        lift=_lift(by_stage[constraint.stage], runner_up),
        ceiling=ceiling,
        max_input_rate=max_input_rate,
        assessments=tuple(assessments),
    )


def _backlog_growth(row: LedgerRow) -> float:
    """Queue growth in seconds of work per second."""
    if row.capacity > 0:
        return row.queue_trend / row.capacity
    return math.inf if row.queue_trend > 0 else 0.0


def _lift(constraint: LedgerRow, runner_up: StageAssessment | None) -> float | None:
    """Capacity factor at which the constraint's utilization-based headroom reaches
    the runner-up's. Floored at 1: when the constraint only leads because its queue
    grows, the runner-up is tighter as soon as the constraint keeps up."""
    if runner_up is None or math.isinf(constraint.headroom):
        return None
    return max(1.0, runner_up.headroom / constraint.headroom)


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
) -> str:
    if constraint.queue_growing:
        evidence = f" with its queue growing by {row.queue_trend:.1f} records/s"
    else:
        evidence = f", at or above the {saturation:.0%} saturation threshold"
    if runner_up is None:
        comparison = "it is the only stage reporting data"
    elif math.isinf(runner_up.headroom):
        comparison = f"the next closest stage, {runner_up.stage}, is idle"
    else:
        comparison = (
            f"the next closest stage, {runner_up.stage}, "
            f"has {margin:.1f}× more headroom"
        )
    return f"{row.stage} {_describe_load(row)}{evidence}; {comparison}."


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
            row.utilization >= saturation or assessment.queue_growing
        ):
            continue
        waits_on = assessment.pressure_from or "downstream stages that are not busy"
        notes.append(
            f" {row.stage} is blocked {row.blocked:.0%} of the time waiting on "
            f"{waits_on}, so its {row.utilization:.0%} utilization does not make it "
            "the constraint."
        )
    return "".join(notes)
