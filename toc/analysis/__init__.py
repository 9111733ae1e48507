"""Theory-of-Constraints analysis over plain data: no Django, no I/O.

Stage samples become ledger rows (directly or through mergeable rollups); the ledger
yields the constraint, backlogs and what-if scenarios; a series of findings yields
constraint moves. Little's law, cascade and feature-value helpers size the rest.
"""

from __future__ import annotations

from toc.analysis.backlog import (
    STEADY_HIGH_SECONDS,
    Backlog,
    BacklogState,
    assess_backlog,
)
from toc.analysis.cascade import CascadePlan, CascadeTier, TierLoad, plan_cascade
from toc.analysis.constraint import (
    BLOCKED_SHARE,
    SATURATION,
    ConfidenceLabel,
    ConstraintFinding,
    StageAssessment,
    assess_stages,
    find_constraint,
    is_held_back,
)
from toc.analysis.events import (
    DEFAULT_HOLD_S,
    ConstraintEvent,
    ConstraintTracker,
    detect_constraint_moves,
    step,
)
from toc.analysis.features import Feature, FeatureValue, feature_values
from toc.analysis.ledger import (
    QUEUE_TREND_EPSILON,
    FailureModeTally,
    LedgerRow,
    StageSample,
    ledger_rows,
)
from toc.analysis.littles_law import DecisionBudget, decision_budget
from toc.analysis.rollups import (
    StageRollup,
    add_sample,
    ledger_from_rollups,
    ledger_row_from_rollups,
    merge_rollups,
    rollup_sample,
)
from toc.analysis.whatif import WhatIfResult, what_if

__all__ = [
    "BLOCKED_SHARE",
    "DEFAULT_HOLD_S",
    "QUEUE_TREND_EPSILON",
    "SATURATION",
    "STEADY_HIGH_SECONDS",
    "Backlog",
    "BacklogState",
    "CascadePlan",
    "CascadeTier",
    "ConfidenceLabel",
    "ConstraintEvent",
    "ConstraintFinding",
    "ConstraintTracker",
    "DecisionBudget",
    "FailureModeTally",
    "Feature",
    "FeatureValue",
    "LedgerRow",
    "StageAssessment",
    "StageRollup",
    "StageSample",
    "TierLoad",
    "WhatIfResult",
    "add_sample",
    "assess_backlog",
    "assess_stages",
    "decision_budget",
    "detect_constraint_moves",
    "feature_values",
    "find_constraint",
    "is_held_back",
    "ledger_from_rollups",
    "ledger_row_from_rollups",
    "ledger_rows",
    "merge_rollups",
    "plan_cascade",
    "rollup_sample",
    "step",
    "what_if",
]
