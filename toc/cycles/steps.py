"""What each step page shows and which forms it saves.

A step has record forms (saved with a plain POST naming the form) and inline
lists (rows.py). The numbers come from toc.analysis.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from toc.analysis import (
    CascadeTier,
    PeriodPoint,
    check_decision,
    compare_periods,
    data_loss_share,
    decision_budget,
    describe_change,
    evaluate_slo,
    feature_values,
    improved,
    judge,
    plan_cascade,
    review_chain,
    validation_verdict,
)
from toc.analysis import Criterion as CriterionSpec
from toc.analysis import Feature as FeatureSpec
from toc.analysis import Why as WhySpec
from toc.charts.features import feature_value_chart
from toc.cycles import forms
from toc.cycles.models import Cycle, MeasuredFrom, Slo, ValidationExperiment
from toc.metrics.forms import WhatIfForm
from toc.metrics.ledger import constraint_standing, ledger_response
from toc.metrics.series import stage_series
from toc.systems.models import Stage, System

STEPS = [
    "goal",
    "problem",
    "conflict",
    "innovation",
    "experiment",
    "rollout",
    "outcome",
]
# Features contributing less than this share of the importance are pruning candidates.
CONTRIBUTION_FLOOR = 0.01


def decorate_rows(cycle: Cycle, key: str, rows: list) -> list:
    """Attaches what each row's template shows besides its own fields."""
    if key == "slos":
        measure_slos(rows, ledger_response(cycle.system))
    elif key == "criteria":
        _, outcomes = judge([_criterion(c) for c in rows])
        for criterion, outcome in zip(rows, outcomes, strict=True):
            criterion.passed = outcome.passed
    elif key == "outcome-rows":
        for row in rows:
            row.change = describe_change(
                row.before, row.after, row.lower_is_better, row.unit
            )
            row.improved = improved(row.before, row.after, row.lower_is_better)
    elif key == "features":
        values = {
            v.name: v for v in feature_values(_feature_specs(rows), CONTRIBUTION_FLOOR)
        }
        for feature in rows:
            feature.value = values[feature.name]
        rows.sort(key=lambda f: (-f.value.score, f.name))
    return rows


def measure_slos(slos: list[Slo], ledger: dict) -> None:
    """Sets each SLO's ``measured`` (read off the ledger where it comes from
    metrics), ``live`` and ``status`` (None without a target)."""
    for slo in slos:
        slo.live = slo.measured_from != MeasuredFrom.TYPED
        if slo.live:
            slo.measured = measured_from_metrics(slo.measured_from, slo.unit, ledger)
        slo.status = (
            evaluate_slo(slo.comparator, slo.target, slo.measured)
            if slo.target is not None
            else None
        )


# How many milliseconds one unit of an SLO's time unit is.
TIME_UNITS_MS = {"ms": 1, "s": 1000, "sec": 1000, "min": 60_000, "minutes": 60_000}


def measured_from_metrics(source: str, unit: str, ledger: dict) -> float | None:
    """An SLO's measured value read off the current ledger, in the SLO's unit."""
    rows = [row for row in ledger["stages"] if row["samples"]]
    if not rows:
        return None
    if source == MeasuredFrom.LAST_STAGE_P95:
        scale = TIME_UNITS_MS.get(unit.strip().lower())
        return None if scale is None else rows[-1]["latency_p95_ms"] / scale
    if source == MeasuredFrom.DATA_LOSS:
        # What the first stage took in over the window, against all that was dropped.
        records = rows[0]["load"] * ledger["window_s"]
        share = data_loss_share(sum(row["dropped"] for row in rows), records)
        if share is None:
            return None
        return share * 100 if unit.strip() == "%" else share
    return None


def _criterion(row) -> CriterionSpec:
    return CriterionSpec(row.metric, row.comparator, row.threshold, row.result)


def _feature_specs(rows) -> list[FeatureSpec]:
    return [FeatureSpec(f.name, f.importance, f.compute_cost) for f in rows]


def verdict_of(cycle: Cycle):
    verdict, _ = judge([_criterion(c) for c in cycle.experiment.criteria.all()])
    return verdict


# Record forms of each step: name → (form class, instance, extra kwargs).
def record_forms(cycle: Cycle, step: str) -> dict:
    def decision_error(decision: str, reason: str) -> str | None:
        return check_decision(decision, verdict_of(cycle), reason)

    validation = getattr(cycle, "validation", None)
    return {
        "goal": {
            "constraint": (forms.ConstraintChoiceForm, cycle.constraint, {}),
            "validation": (forms.ValidationForm, validation, {"cycle": cycle}),
        },
        "problem": {"problem": (forms.ProblemForm, cycle.problem, {})},
        "conflict": {"conflict": (forms.ConflictForm, cycle.conflict, {})},
        "innovation": {"innovation": (forms.InnovationForm, cycle.innovation, {})},
        "experiment": {
            "experiment": (forms.ExperimentForm, cycle.experiment, {}),
            "decision": (
                forms.DecisionForm,
                cycle.experiment,
                {"verdict_error": decision_error},
            ),
        },
        "rollout": {"rollout": (forms.RolloutForm, cycle.rollout, {})},
        "outcome": {"outcome": (forms.OutcomeForm, cycle.outcome, {})},
    }[step]


def step_context(request: HttpRequest, cycle: Cycle, step: str) -> dict:
    """What a step shows beyond its forms and lists (conflict and rollout: nothing)."""
    extra = {
        "goal": _goal,
        "problem": _problem,
        "innovation": _innovation,
        "experiment": _experiment,
        "outcome": _outcome,
    }.get(step)
    return extra(request, cycle) if extra else {}


def _goal(request: HttpRequest, cycle: Cycle) -> dict:
    ledger = ledger_response(cycle.system)
    names = [row["name"] for row in ledger["stages"] if row["samples"]]
    budget_form = forms.DecisionBudgetForm(request.GET or None)
    budget = None
    if request.GET and budget_form.is_valid():
        data = budget_form.cleaned_data
        budget = decision_budget(
            data["alerts_per_day"],
            data["minutes_per_investigation"],
            data["analysts"],
            data["hours_per_analyst"],
        )
    return {
        "ledger": ledger,
        "what_if_form": WhatIfForm(stage_names=names),
        "budget_form": budget_form,
        "budget": budget,
        "validation_figures": validation_figures(
            cycle.system, getattr(cycle, "validation", None)
        ),
        "snapshot_time": parse_datetime(
            (cycle.constraint.ledger_snapshot or {}).get("window_end") or ""
        ),
    }


def validation_figures(system: System, validation: ValidationExperiment | None):
    """Before and during the validation experiment, from the stored rollups, and the
    verdict they give; None without an experiment or when its stage is gone."""
    if validation is None:
        return None
    stages = list(system.stages.all())
    stage = next((s for s in stages if s.slug == validation.stage), None)
    if stage is None:
        return None
    length = validation.ended - validation.started
    before_start = validation.started - min(length, timedelta(days=2))

    def points(target, start, end) -> list[PeriodPoint]:
        series = stage_series([target], start, min(end, start + timedelta(days=2)))
        values = series["stages"][0]
        return [
            PeriodPoint(
                t=datetime.fromisoformat(t),
                load=values["load"][i],
                capacity=values["capacity"][i],
                utilization=values["utilization"][i],
                queue_depth=values["queue_depth"][i],
                latency_p95_ms=values["latency_p95_ms"][i],
            )
            for i, t in enumerate(series["t"])
            if values["load"][i] is not None
        ]

    last = stages[-1]
    suspect = compare_periods(
        points(stage, before_start, validation.started),
        points(stage, validation.started, validation.ended),
    )
    system_figures = compare_periods(
        points(last, before_start, validation.started),
        points(last, validation.started, validation.ended),
    )
    return {
        "stage": suspect,
        "system": system_figures,
        "stage_name": stage.name,
        "last_stage_name": last.name,
        "verdict": validation_verdict(stage.name, suspect, system_figures, last.name),
    }


def constraint_stage(cycle: Cycle) -> Stage | None:
    return cycle.system.stages.filter(slug=cycle.constraint.stage).first()


def _problem(request: HttpRequest, cycle: Cycle) -> dict:
    problem = cycle.problem
    whys = [WhySpec(w.answer, w.evidence, w.validated) for w in problem.whys.all()]
    stage = constraint_stage(cycle)
    features = list(stage.features.all()) if stage else []
    return {
        "findings": review_chain(whys, problem.root_cause or None, problem.gap_share),
        "feature_chart": (
            feature_value_chart(
                feature_values(_feature_specs(features), CONTRIBUTION_FLOOR)
            )
            if features
            else None
        ),
    }


def _innovation(request: HttpRequest, cycle: Cycle) -> dict:
    cascade_form = forms.CascadeForm(request.GET or None)
    plan = None
    tiers = list(cycle.innovation.tiers.all())
    if request.GET and cascade_form.is_valid() and tiers:
        plan = plan_cascade(
            [CascadeTier(t.name, t.exit_share, t.latency_ms) for t in tiers],
            cascade_form.cleaned_data["input_rate"],
            cascade_form.cleaned_data["target_utilization"],
        )
    return {"cascade_form": cascade_form, "plan": plan}


def _experiment(request: HttpRequest, cycle: Cycle) -> dict:
    return {"verdict": verdict_of(cycle)}


def _outcome(request: HttpRequest, cycle: Cycle) -> dict:
    ledger = ledger_response(cycle.system)
    return {"ledger": ledger, "standing": constraint_standing(ledger)}
