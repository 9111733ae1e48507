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
from toc.analysis.budget import (
    ALERT_RULES,
    BURN_WINDOWS,
    AlertRule,
    Budget,
    Tally,
    alert_for,
    budget_remaining,
    burn_rate,
    compliance,
    evaluate_budget,
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
    track,
)
from toc.analysis.experiment import (
    Criterion,
    CriterionOutcome,
    Decision,
    ExperimentVerdict,
    check_decision,
    judge,
)
from toc.analysis.features import Feature, FeatureValue, feature_values
from toc.analysis.five_whys import (
    MIN_GAP_SHARE,
    MIN_WHYS,
    ChainFinding,
    ChainWarning,
    RootCause,
    Why,
    review_chain,
)
from toc.analysis.ledger import (
    FailureModeTally,
    LedgerRow,
    StageSample,
    ledger_rows,
)
from toc.analysis.littles_law import DecisionBudget, decision_budget
from toc.analysis.outcome import describe_change, improved
from toc.analysis.periods import (
    MetricChange,
    PeriodComparison,
    PeriodMetric,
    PeriodPoint,
    PeriodSummary,
    ValidationResult,
    ValidationVerdict,
    compare_periods,
    summarize_period,
    system_throughput,
    validation_verdict,
)
from toc.analysis.rollups import (
    StageRollup,
    add_sample,
    ledger_from_rollups,
    ledger_row_from_rollups,
    merge_all,
    merge_rollups,
    rollup_sample,
    rollup_samples,
)
from toc.analysis.slo import (
    EQUAL_REL_TOL,
    Comparator,
    SloStatus,
    data_loss_share,
    evaluate_slo,
)
from toc.analysis.whatif import WhatIfResult, what_if

__all__ = [
    "ALERT_RULES",
    "BLOCKED_SHARE",
    "BURN_WINDOWS",
    "DEFAULT_HOLD_S",
    "EQUAL_REL_TOL",
    "MIN_GAP_SHARE",
    "MIN_WHYS",
    "SATURATION",
    "STEADY_HIGH_SECONDS",
    "AlertRule",
    "Backlog",
    "BacklogState",
    "Budget",
    "CascadePlan",
    "CascadeTier",
    "ChainFinding",
    "ChainWarning",
    "Comparator",
    "ConfidenceLabel",
    "ConstraintEvent",
    "ConstraintFinding",
    "ConstraintTracker",
    "Criterion",
    "CriterionOutcome",
    "Decision",
    "DecisionBudget",
    "ExperimentVerdict",
    "FailureModeTally",
    "Feature",
    "FeatureValue",
    "LedgerRow",
    "MetricChange",
    "PeriodComparison",
    "PeriodMetric",
    "PeriodPoint",
    "PeriodSummary",
    "RootCause",
    "SloStatus",
    "StageAssessment",
    "StageRollup",
    "StageSample",
    "Tally",
    "TierLoad",
    "ValidationResult",
    "ValidationVerdict",
    "WhatIfResult",
    "Why",
    "add_sample",
    "alert_for",
    "assess_backlog",
    "assess_stages",
    "budget_remaining",
    "burn_rate",
    "check_decision",
    "compare_periods",
    "compliance",
    "data_loss_share",
    "decision_budget",
    "describe_change",
    "detect_constraint_moves",
    "evaluate_budget",
    "evaluate_slo",
    "feature_values",
    "find_constraint",
    "improved",
    "is_held_back",
    "judge",
    "ledger_from_rollups",
    "ledger_row_from_rollups",
    "ledger_rows",
    "merge_all",
    "merge_rollups",
    "plan_cascade",
    "review_chain",
    "rollup_sample",
    "rollup_samples",
    "step",
    "summarize_period",
    "system_throughput",
    "track",
    "validation_verdict",
    "what_if",
]
