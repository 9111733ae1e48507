"""What happens to the constraint and the ceiling if one stage gets more capacity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from toc.analysis.constraint import (
    SATURATION,
    ConstraintFinding,
    find_constraint,
    is_held_back,
)
from toc.analysis.ledger import LedgerRow


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """``rows`` is the ledger after the change; ``before`` and ``after`` are the
    findings on the ledger as given and as changed."""

    stage: str
    factor: float
    rows: tuple[LedgerRow, ...]
    before: ConstraintFinding
    after: ConstraintFinding
    summary: str


def what_if(
    rows: Sequence[LedgerRow],
    stage: str,
    factor: float,
    saturation: float = SATURATION,
) -> WhatIfResult:
    """Scale ``stage``'s capacity by ``factor`` and find the constraint again.

    Load is unchanged, so the time the stage spends working divides by ``factor``
    (utilization divides by it when no blocked share is reported). A held-back stage
    keeps waiting on its successor: the time it saves becomes blocked time. A stage
    with a queue spends the extra capacity on it, so its queue trend drops by
    (factor - 1) x capacity. Cutting capacity below the load pushes utilization past
    1 (headroom under 1). A stage without data is left as it is.
    """
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError("factor must be a finite number > 0")
    if not any(row.stage == stage for row in rows):
        raise ValueError(f"unknown stage {stage!r}")
    scaled = [
        _scaled(row, factor, saturation) if row.stage == stage and row.has_data else row
        for row in rows
    ]
    before = find_constraint(rows, saturation)
    after = find_constraint(scaled, saturation)
    return WhatIfResult(
        stage=stage,
        factor=factor,
        rows=tuple(scaled),
        before=before,
        after=after,
        summary=_summary(stage, factor, before, after),
    )


def _scaled(row: LedgerRow, factor: float, saturation: float) -> LedgerRow:
    measured = row.measured()
    freed = measured.busy - measured.busy / factor
    blocked: float | None
    if row.blocked is not None and is_held_back(row, saturation):
        blocked = row.blocked + freed
        # With less capacity the stage may work more than it used to wait.
        utilization = measured.utilization + max(0.0, -blocked)
        blocked = max(0.0, blocked)
    else:
        utilization, blocked = measured.utilization - freed, row.blocked
    if measured.queue_depth > 0 or measured.queue_trend > 0:
        queue_trend = measured.queue_trend - (factor - 1) * measured.capacity
    else:
        queue_trend = measured.queue_trend
    return replace(
        row,
        capacity=measured.capacity * factor,
        utilization=utilization,
        blocked=blocked,
        queue_trend=queue_trend,
    )


def _summary(
    stage: str, factor: float, before: ConstraintFinding, after: ConstraintFinding
) -> str:
    """In the dashboard card's words: where the constraint goes, the ceiling (load
    growth before a stage saturates) and the next constraint after the change."""
    if after.stage == before.stage and after.external == before.external:
        move = "stays " + (f"at {after.stage}" if after.stage else _where(after))
    else:
        move = f"moves from {_where(before)} to {_where(after)}"
    old, new = _times(before.ceiling), _times(after.ceiling)
    if old == new:
        ceiling = f"stays at {new}"
    else:
        rises = (after.ceiling or 0.0) > (before.ceiling or 0.0)
        ceiling = f"{'rises' if rises else 'falls'} from {old} to {new}"
    text = (
        f"With {stage} at {factor:g}× its capacity, the constraint {move} and the "
        f"ceiling {ceiling} load growth before a stage saturates."
    )
    return f"{text} {_next(stage, factor, before, after)}".rstrip()


def _next(
    stage: str, factor: float, before: ConstraintFinding, after: ConstraintFinding
) -> str:
    if after.next_constraint is None:
        return ""
    if after.stage is None:
        # Lifted just below saturation, the old constraint may still fill up first.
        again = " again" if after.next_constraint == before.stage else ""
        return (
            f"Next constraint: {after.next_constraint}{again}, the first stage to "
            "saturate as load grows."
        )
    lift = after.lift
    # The card's cut-off too: under half a percent, the two are level.
    if lift is None or lift <= 1.005:
        return (
            f"Next constraint: {after.next_constraint}, which is as close to its "
            "limit already."
        )
    # The lift counts from the capacity the card knows: the scaled stage has
    # factor times it already.
    total = lift * factor if after.stage == stage else lift
    return (
        f"Next constraint: {after.next_constraint} once {after.stage} gets "
        f"{_times(total)} its capacity."
    )


def _where(finding: ConstraintFinding) -> str:
    if finding.stage is not None:
        return finding.stage
    return "outside the pipeline" if finding.external else "unknown (no data)"


def _times(factor: float | None) -> str:
    """As the dashboard shows factors: "1.54×"."""
    if factor is None:
        return "unknown"
    return "unbounded" if math.isinf(factor) else f"{factor:.2f}×"
