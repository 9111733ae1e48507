"""The kinds of record a cycle keeps, each declared once.

A cycle keeps single records (its constraint, problem, conflict, …), each saved
through one form of a step page, and lists of rows (SLOs, whys, assumptions, …).
Whatever walks over them derives from KINDS: the step pages' forms and lists,
the API's routes and serializers, the audit trail, the snapshot behind the
retrospective and both exports, and the records a new cycle opens with.

KINDS is in the order the retrospective and the exports tell a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models
from django.forms import ModelForm
from rest_framework import serializers as drf

from toc.analysis import check_decision
from toc.cycles import forms, readings, serializers
from toc.cycles.models import Cycle
from toc.cycles.readings import Shown
from toc.systems.forms import FeatureForm

# Step → how the retrospective and the exports head it.
STEPS = {
    "goal": "Goal and constraint",
    "problem": "Problem",
    "conflict": "Conflict",
    "innovation": "Innovation",
    "experiment": "Experiment",
    "rollout": "Rollout",
    "outcome": "Outcome",
}


# How a cycle comes to have a record: opened empty with the cycle, chosen when
# it opens (services.cycle_open fills in the constraint from the ledger), or
# saved by its form for the first time (the validation experiment).
OPENED, CHOSEN, SAVED = "opened", "chosen", "saved"


def _no_kwargs(cycle: Cycle) -> dict:
    return {}


@dataclass(frozen=True)
class RecordKind:
    """One record of a cycle, saved by its form on its step page (and the API's
    PUT/PATCH of …/cycles/N/<key>/)."""

    key: str  # the form's name on the step page; the API's route
    noun: str  # as the audit trail names it
    step: str
    form: type[ModelForm]
    serializer: type[drf.ModelSerializer]
    # The record whose fields this form edits too (the decision: the
    # experiment's); it is one record for the trail, the snapshot and opening.
    shares: str = ""
    # How a cycle comes to have it (OPENED, CHOSEN or SAVED).
    made: str = OPENED
    # Whom or what its pages show through its foreign keys, fetched with it.
    related: tuple[str, ...] = ()
    form_kwargs: Callable[[Cycle], dict] = _no_kwargs
    # What is read beside it (the API's `derived`), from the cycle and the record
    # (an instance of `model`).
    read: Callable[[Cycle, Any], Any] | None = None

    @property
    def model(self) -> type[models.Model]:
        return self.form._meta.model

    @property
    def link(self) -> str:
        """The cycle's attribute that holds the record."""
        return self.shares or self.key

    @property
    def selected(self) -> tuple[str, ...]:
        """What select_related() fetches the record with, from its cycle."""
        return (self.link, *(f"{self.link}__{name}" for name in self.related))

    def instance(self, cycle: Cycle) -> models.Model | None:
        """The cycle's record (None while there is none: a validation experiment
        before its first save)."""
        return getattr(cycle, self.link, None)

    def reading(self, cycle: Cycle, record: models.Model | None) -> Any:
        return None if self.read is None or record is None else self.read(cycle, record)


@dataclass(frozen=True)
class RowKind:
    """A list of a cycle's rows, edited in place on its step page (rows.py) and
    through the API's …/cycles/N/<key>/."""

    key: str  # its URL segment
    noun: str  # with its article ("an SLO"), as the add form's heading says it
    step: str
    form: type[ModelForm]
    # The rows' foreign key to what holds them: "cycle", one of its records
    # (by link), or for shared rows "stage", the constraint's stage.
    parent: str
    ordered: bool = False
    title: str = ""  # the field that tells one row from another in the trail
    trail_noun: str = ""  # as the trail names a row out of its list, if not bare
    # What is read beside each row, and how the API shows it as `derived`.
    read: Callable[[list], list[Shown]] | None = None
    derived: type[serializers.Reading] | None = None
    # Rows of a stage's registry, shared by every cycle of the system: the
    # cycle's API, snapshot and exports leave them out (the stage has its own
    # endpoint), and its trail shows the changes made while it was open.
    shared: bool = False

    @property
    def model(self) -> type[models.Model]:
        return self.form._meta.model

    @property
    def name(self) -> str:
        """The key as a Python name: the snapshot's `outcome_rows`."""
        return self.key.replace("-", "_")

    @property
    def bare_noun(self) -> str:
        return self.noun.split(" ", 1)[1]

    @property
    def row_template(self) -> str:
        return f"cycles/rows/{self.key}.html"

    @property
    def related_name(self) -> str:
        """The parent's name for the rows (`problem.whys`); the export's too."""
        parent = self.model._meta.get_field(self.parent)
        # Every kind's parent is a foreign key that names its rows.
        assert isinstance(parent, models.ForeignKey)
        assert parent.remote_field.related_name is not None
        return parent.remote_field.related_name

    @property
    def selected(self) -> tuple[str, ...]:
        """What select_related() fetches the parent with, from the cycle."""
        return () if self.parent == "cycle" or self.shared else (self.parent,)

    @cached_property
    def serializer(self) -> type[drf.ModelSerializer]:
        # Made once per kind: the API schema names it.
        return serializers.row_serializer(self)

    def parent_of(self, cycle: Cycle) -> models.Model | None:
        """What holds the cycle's rows (None while there is nothing: no stage
        chosen yet)."""
        if self.parent == "cycle":
            return cycle
        if self.shared:
            return readings.constraint_stage(cycle)
        return getattr(cycle, self.parent, None)

    def rows(self, cycle: Cycle) -> list[models.Model]:
        """The cycle's rows of this kind, in their order (prefetched ones kept)."""
        parent = self.parent_of(cycle)
        if parent is None:
            return []
        return list(getattr(parent, self.related_name).all())

    def show(self, rows: list[models.Model]) -> list[Shown]:
        """The rows with what is read beside each."""
        if self.read is None:
            return [Shown(row) for row in rows]
        return self.read(rows)


def _decision(cycle: Cycle) -> dict:
    def verdict_error(decision: str, reason: str) -> str | None:
        verdict = readings.verdict_of(cycle.experiment.criteria.all())
        return check_decision(decision, verdict, reason)

    return {"verdict_error": verdict_error}


KINDS: list[RecordKind | RowKind] = [
    RecordKind(
        key="constraint",
        noun="constraint",
        step="goal",
        form=forms.ConstraintChoiceForm,
        serializer=serializers.ConstraintSerializer,
        made=CHOSEN,
        related=("chosen_by",),
    ),
    RecordKind(
        key="validation",
        noun="validation experiment",
        step="goal",
        form=forms.ValidationForm,
        serializer=serializers.ValidationSerializer,
        made=SAVED,
        form_kwargs=lambda cycle: {"cycle": cycle},
        read=readings.figures_of_validation,
    ),
    RecordKind(
        key="problem",
        noun="problem",
        step="problem",
        form=forms.ProblemForm,
        serializer=serializers.ProblemSerializer,
    ),
    RowKind(
        key="whys",
        noun="a why",
        step="problem",
        form=forms.WhyForm,
        parent="problem",
        ordered=True,
        title="answer",
    ),
    RowKind(
        key="features",
        noun="a feature",
        step="problem",
        form=FeatureForm,
        parent="stage",
        shared=True,
        title="name",
        read=readings.value_features,
    ),
    RecordKind(
        key="conflict",
        noun="conflict",
        step="conflict",
        form=forms.ConflictForm,
        serializer=serializers.ConflictSerializer,
        related=("broken_assumption",),
    ),
    RowKind(
        key="assumptions",
        noun="an assumption",
        step="conflict",
        form=forms.AssumptionForm,
        parent="conflict",
        title="text",
    ),
    RecordKind(
        key="innovation",
        noun="innovation",
        step="innovation",
        form=forms.InnovationForm,
        serializer=serializers.InnovationSerializer,
    ),
    RowKind(
        key="tiers",
        noun="a tier",
        step="innovation",
        form=forms.TierForm,
        parent="innovation",
        ordered=True,
        title="name",
    ),
    RecordKind(
        key="experiment",
        noun="experiment",
        step="experiment",
        form=forms.ExperimentForm,
        serializer=serializers.ExperimentSerializer,
    ),
    RowKind(
        key="criteria",
        noun="a criterion",
        step="experiment",
        form=forms.CriterionForm,
        parent="experiment",
        title="metric",
        read=readings.judge_criteria,
        derived=serializers.CriterionDerivedSerializer,
    ),
    RecordKind(
        key="decision",
        noun="experiment",
        step="experiment",
        form=forms.DecisionForm,
        serializer=serializers.DecisionSerializer,
        shares="experiment",
        related=("decided_by",),
        form_kwargs=_decision,
    ),
    RecordKind(
        key="rollout",
        noun="rollout",
        step="rollout",
        form=forms.RolloutForm,
        serializer=serializers.RolloutSerializer,
    ),
    RowKind(
        key="phases",
        noun="a phase",
        step="rollout",
        form=forms.PhaseForm,
        parent="rollout",
        ordered=True,
        title="name",
        trail_noun="rollout phase",
    ),
    RowKind(
        key="outcome-rows",
        noun="a row",
        step="outcome",
        form=forms.OutcomeRowForm,
        parent="outcome",
        title="metric",
        trail_noun="outcome row",
        read=readings.outcome_changes,
        derived=serializers.OutcomeRowDerivedSerializer,
    ),
    RecordKind(
        key="outcome",
        noun="outcome",
        step="outcome",
        form=forms.OutcomeForm,
        serializer=serializers.OutcomeSerializer,
    ),
    # Written in the retrospective meeting, mostly after the cycle closes, on the
    # retrospective page (views.cycle_notes; access.py lets the team write them
    # to a closed cycle). A kind belongs to a step, and the outcome's is the
    # nearest: its page offers the same form while the cycle is open, and the
    # exports tell the notes at the end of the outcome.
    RecordKind(
        key="lessons",
        noun="retrospective notes",
        step="outcome",
        form=forms.RetrospectiveNotesForm,
        serializer=serializers.RetrospectiveNotesSerializer,
        made=SAVED,
    ),
]

RECORDS = {kind.key: kind for kind in KINDS if isinstance(kind, RecordKind)}
ROWS = {kind.key: kind for kind in KINDS if isinstance(kind, RowKind)}


def kinds_of(step: str) -> list[RecordKind | RowKind]:
    return [kind for kind in KINDS if kind.step == step]


# One kind per record a cycle holds (the decision is the experiment's).
LINKS = [kind for kind in RECORDS.values() if not kind.shares]


def cycle_with_links(queryset: models.QuerySet) -> models.QuerySet:
    """Cycles with every record and list of their chain, in a fixed number of
    queries."""
    return queryset.select_related(
        "system__team", *(name for kind in RECORDS.values() for name in kind.selected)
    ).prefetch_related(
        *(
            "__".join([*kind.selected, kind.related_name])
            for kind in ROWS.values()
            if not kind.shared
        )
    )
