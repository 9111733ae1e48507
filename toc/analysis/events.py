"""Constraint moves, confirmed only after the new constraint has held for a while so
that a noisy ledger does not make the constraint flap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from toc.analysis.constraint import SATURATION, ConstraintFinding, find_constraint
from toc.analysis.ledger import LedgerRow
from toc.analysis.validation import require_aware
from toc.lib.formats import elapsed

DEFAULT_HOLD_S = 300.0


@dataclass(frozen=True, slots=True)
class ConstraintEvent:
    """The constraint moved. ``at`` is when the new constraint was first seen; a None
    stage means outside the pipeline (or, for ``from_stage``, nothing confirmed yet)."""

    at: datetime
    from_stage: str | None
    to_stage: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ConstraintTracker:
    """Where tracking stands: the confirmed constraint, since when it has led
    without a break (``confirmed_since``, None before any move), and, while one is
    being held, the challenger and when it was first seen (``candidate_since`` is
    None when there is no challenger, because a challenger may itself be None:
    outside the pipeline).
    """

    confirmed: str | None = None
    candidate: str | None = None
    candidate_since: datetime | None = None
    confirmed_since: datetime | None = None

    @property
    def leader(self) -> str | None:
        """The stage that leads so far: the confirmed one, or before any is, the
        challenger. A near tie goes to it, so noise does not flip the verdict."""
        if self.confirmed is None and self.candidate_since is not None:
            return self.candidate
        return self.confirmed


def step(
    state: ConstraintTracker,
    ts: datetime,
    stage: str | None,
    hold_s: float = DEFAULT_HOLD_S,
) -> tuple[ConstraintTracker, ConstraintEvent | None]:
    """Feed one finding (its sample time and constraint stage, None if external).

    Findings must come in time order. The move is confirmed once the challenger has
    been the finding from ``candidate_since`` to ``ts`` for at least ``hold_s``
    seconds without interruption; any other finding in between restarts the hold.
    """
    require_aware(ts, "ts")
    if stage == state.confirmed:
        return ConstraintTracker(
            state.confirmed, confirmed_since=state.confirmed_since
        ), None
    since = state.candidate_since
    if since is None or stage != state.candidate:
        since = ts
        state = ConstraintTracker(state.confirmed, stage, since, state.confirmed_since)
    held_s = (ts - since).total_seconds()
    if held_s < hold_s:
        return state, None
    event = ConstraintEvent(
        at=since,
        from_stage=state.confirmed,
        to_stage=stage,
        reason=_reason(state.confirmed, stage, held_s, hold_s),
    )
    return ConstraintTracker(stage, confirmed_since=since), event


def track(
    state: ConstraintTracker,
    ts: datetime,
    rows: Sequence[LedgerRow],
    hold_s: float = DEFAULT_HOLD_S,
    saturation: float = SATURATION,
) -> tuple[ConstraintTracker, ConstraintFinding, ConstraintEvent | None]:
    """Judges one window's ledger, evaluated at sample time ``ts``, and steps the
    tracker with its verdict. A near tie goes to the stage that led so far."""
    finding = find_constraint(rows, saturation, incumbent=state.leader)
    state, event = step(state, ts, finding.stage, hold_s)
    return state, finding, event


def detect_constraint_moves(
    findings: Iterable[tuple[datetime, str | None]],
    hold_s: float = DEFAULT_HOLD_S,
    state: ConstraintTracker | None = None,
) -> tuple[ConstraintTracker, list[ConstraintEvent]]:
    """Fold ``step`` over time-ordered findings; returns the state to resume from
    and the events, exactly as feeding the findings one by one would."""
    if state is None:
        state = ConstraintTracker()
    events = []
    previous: datetime | None = None
    for ts, stage in findings:
        if previous is not None and ts < previous:
            raise ValueError("findings must be in time order")
        previous = ts
        state, event = step(state, ts, stage, hold_s)
        if event is not None:
            events.append(event)
    return state, events


def _reason(
    from_stage: str | None, to_stage: str | None, held_s: float, hold_s: float
) -> str:
    held = f"held for {elapsed(held_s)} (hold period {elapsed(hold_s)})"
    if to_stage is None:
        return (
            f"The constraint moved outside the pipeline (demand or policy) and {held}; "
            f"{from_stage} no longer limits throughput."
        )
    if from_stage is None:
        return f"{to_stage} became the constraint and {held}."
    return f"The constraint moved from {from_stage} to {to_stage} and {held}."
