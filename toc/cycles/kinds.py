"""The lists of a cycle's records (SLOs, whys, assumptions, tiers, …): for each,
its model, form and parent. The browser's inline lists (rows.py) and the API
serve them all from this one registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.forms import ModelForm

from toc.cycles import forms
from toc.cycles.models import (
    Assumption,
    Criterion,
    Cycle,
    OutcomeRow,
    RolloutPhase,
    Slo,
    Tier,
    Why,
)
from toc.cycles.steps import constraint_stage
from toc.systems.forms import FeatureForm
from toc.systems.models import Feature


@dataclass(frozen=True)
class RowKind:
    key: str
    noun: str  # with its article ("an SLO"), as the add form's heading says it
    model: type[models.Model]
    form: type[ModelForm]
    step: str
    parent: Callable[[Cycle], models.Model | None]
    parent_field: str
    ordered: bool = False
    # The step's record form offers these rows as choices, so the page reloads.
    feeds_record_form: bool = False

    @property
    def bare_noun(self) -> str:
        return self.noun.split(" ", 1)[1]

    @property
    def row_template(self) -> str:
        return f"cycles/rows/{self.key}.html"

    def rows(self, cycle: Cycle) -> list[models.Model]:
        parent = self.parent(cycle)
        if parent is None:
            return []
        rows = self.model.objects.filter(**{self.parent_field: parent})
        return list(rows.order_by("position", "id") if self.ordered else rows)


KINDS = {
    kind.key: kind
    for kind in [
        RowKind(
            "slos", "an SLO", Slo, forms.SloForm, "goal", lambda c: c, "cycle", True
        ),
        RowKind(
            "whys",
            "a why",
            Why,
            forms.WhyForm,
            "problem",
            lambda c: c.problem,
            "problem",
            True,
        ),
        RowKind(
            "features",
            "a feature",
            Feature,
            FeatureForm,
            "problem",
            constraint_stage,
            "stage",
        ),
        RowKind(
            "assumptions",
            "an assumption",
            Assumption,
            forms.AssumptionForm,
            "conflict",
            lambda c: c.conflict,
            "conflict",
            feeds_record_form=True,
        ),
        RowKind(
            "tiers",
            "a tier",
            Tier,
            forms.TierForm,
            "innovation",
            lambda c: c.innovation,
            "innovation",
            True,
        ),
        RowKind(
            "criteria",
            "a criterion",
            Criterion,
            forms.CriterionForm,
            "experiment",
            lambda c: c.experiment,
            "experiment",
        ),
        RowKind(
            "phases",
            "a phase",
            RolloutPhase,
            forms.PhaseForm,
            "rollout",
            lambda c: c.rollout,
            "rollout",
            True,
        ),
        RowKind(
            "outcome-rows",
            "a row",
            OutcomeRow,
            forms.OutcomeRowForm,
            "outcome",
            lambda c: c.outcome,
            "outcome",
        ),
    ]
}
