"""What each step page shows and which forms it saves.

A step has record forms (saved with a plain POST naming the form) and inline
lists (rows.py), both declared in records.py; this module adds what each page
shows beside them. The numbers come from toc.analysis.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from toc.analysis import (
    CascadeTier,
    RootCause,
    decision_budget,
    plan_cascade,
    review_chain,
)
from toc.analysis import Why as WhySpec
from toc.charts.features import feature_value_chart
from toc.cycles import forms
from toc.cycles.models import Cycle
from toc.cycles.readings import (
    Shown,
    goal_now,
    validation_figures,
    values_of,
    verdict_of,
)
from toc.cycles.records import RECORDS
from toc.metrics.forms import WhatIfForm
from toc.metrics.ledger import constraint_standing, ledger_response


def record_forms(cycle: Cycle, step: str) -> dict[str, tuple]:
    """The step's record forms: name → (form class, instance, extra kwargs).

    Only this step's records are read, so that a request about one record (the
    API's) reads that one.
    """
    return {
        kind.key: (kind.form, kind.instance(cycle), kind.form_kwargs(cycle))
        for kind in RECORDS.values()
        if kind.step == step
    }


def step_context(
    request: HttpRequest, cycle: Cycle, step: str, lists: dict[str, list[Shown]]
) -> dict:
    """What a step shows beyond its forms and lists (conflict and rollout:
    nothing); `lists` are the step's, by key, as its page shows them."""
    extra: Callable[[HttpRequest, Cycle, dict], dict] | None = {
        "goal": _goal,
        "problem": _problem,
        "innovation": _innovation,
        "experiment": _experiment,
        "outcome": _outcome,
    }.get(step)
    return extra(request, cycle, lists) if extra else {}


def _goal(request: HttpRequest, cycle: Cycle, lists: dict) -> dict:
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
        "goal": goal_now(cycle, lambda: ledger),
        "what_if_form": WhatIfForm(stage_names=names),
        "budget_form": budget_form,
        "budget": budget,
        "validation_figures": validation_figures(
            cycle.system, getattr(cycle, "validation", None), cycle.stage_names
        ),
        "snapshot_time": parse_datetime(
            (cycle.constraint.ledger_snapshot or {}).get("window_end") or ""
        ),
    }


def _problem(request: HttpRequest, cycle: Cycle, lists: dict) -> dict:
    problem = cycle.problem
    whys = [WhySpec(w.answer, w.evidence, w.validated) for w in problem.whys.all()]
    root_cause = RootCause(problem.root_cause) if problem.root_cause else None
    features = [shown.row for shown in lists["features"]]
    return {
        "findings": review_chain(whys, root_cause, problem.gap_share),
        "feature_chart": feature_value_chart(values_of(features)) if features else None,
    }


def _innovation(request: HttpRequest, cycle: Cycle, lists: dict) -> dict:
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


def _experiment(request: HttpRequest, cycle: Cycle, lists: dict) -> dict:
    return {"verdict": verdict_of(cycle.experiment.criteria.all())}


def _outcome(request: HttpRequest, cycle: Cycle, lists: dict) -> dict:
    ledger = ledger_response(cycle.system)
    changes = [
        (row.slo.name, change)
        for row in goal_now(cycle, lambda: ledger)
        if (change := row.compliance_change) is not None
    ]
    return {
        "ledger": ledger,
        "standing": constraint_standing(ledger),
        "slo_changes": changes,
    }
