"""A cycle's whole chain in one piece, now or as it stood at a moment.

The retrospective page and both exports read a Snapshot, so they always show
the same records. Now, the records come from the database; at a past moment,
from simple-history's tables, where each record is the last version saved up
to then (records created later, or deleted by then, are left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models

from toc.analysis import Criterion as CriterionSpec
from toc.analysis import describe_change, evaluate_slo, judge
from toc.cycles.models import (
    Assumption,
    Conflict,
    ConstraintChoice,
    Criterion,
    Cycle,
    CycleStatus,
    Experiment,
    Innovation,
    MeasuredFrom,
    Outcome,
    OutcomeRow,
    Pattern,
    Problem,
    Rollout,
    RolloutPhase,
    Slo,
    Tier,
    ValidationExperiment,
    Why,
)
from toc.cycles.steps import decorate_rows, validation_figures

OUTSIDE = "outside"  # the outcome's "next constraint" when it left the pipeline


class NotYetRecorded(Exception):
    """The cycle has no history up to the moment asked for."""

    def __init__(self, first: datetime | None, created: datetime) -> None:
        super().__init__("No history of the cycle up to that moment.")
        self.first = first  # the earliest history kept, if any
        self.created = created


@dataclass
class Snapshot:
    cycle: Cycle
    as_of: datetime | None
    slos: list[Slo] = field(default_factory=list)
    constraint: ConstraintChoice | None = None
    validation: ValidationExperiment | None = None
    # Before and during the experiment, from the ingested metrics, with the verdict.
    validation_figures: dict | None = None
    problem: Problem | None = None
    whys: list[Why] = field(default_factory=list)
    conflict: Conflict | None = None
    assumptions: list[Assumption] = field(default_factory=list)
    innovation: Innovation | None = None
    tiers: list[Tier] = field(default_factory=list)
    experiment: Experiment | None = None
    criteria: list[Criterion] = field(default_factory=list)
    verdict: str = ""
    rollout: Rollout | None = None
    phases: list[RolloutPhase] = field(default_factory=list)
    outcome: Outcome | None = None
    outcome_rows: list[OutcomeRow] = field(default_factory=list)
    stage_names: dict[str, str] = field(default_factory=dict)

    @property
    def broken_assumption(self) -> Assumption | None:
        broken = self.conflict.broken_assumption_id if self.conflict else None
        return next((a for a in self.assumptions if a.pk == broken), None)

    @property
    def pattern_labels(self) -> list[str]:
        labels = dict(Pattern.choices)
        patterns = self.innovation.patterns if self.innovation else []
        return [labels.get(p, p) for p in patterns]

    @property
    def validation_stage_name(self) -> str:
        slug = self.validation.stage if self.validation else ""
        return self.stage_names.get(slug, slug)

    @property
    def next_constraint_name(self) -> str:
        slug = self.outcome.next_constraint if self.outcome else ""
        if slug == OUTSIDE:
            return "Outside the pipeline (demand or policy)"
        return self.stage_names.get(slug, slug)


def snapshot_now(cycle: Cycle) -> Snapshot:
    """The cycle as it stands; `cycle` comes from chain.cycle_with_links."""
    snapshot = Snapshot(
        cycle=cycle,
        as_of=None,
        slos=list(cycle.slos.all()),
        constraint=cycle.constraint,
        validation=getattr(cycle, "validation", None),
        problem=cycle.problem,
        whys=list(cycle.problem.whys.all()),
        conflict=cycle.conflict,
        assumptions=list(cycle.conflict.assumptions.all()),
        innovation=cycle.innovation,
        tiers=list(cycle.innovation.tiers.all()),
        experiment=cycle.experiment,
        criteria=list(cycle.experiment.criteria.all()),
        rollout=cycle.rollout,
        phases=list(cycle.rollout.phases.all()),
        outcome=cycle.outcome,
        outcome_rows=list(cycle.outcome.rows.all()),
    )
    # An open cycle reads live SLOs off the ledger, as its goal page does; a closed
    # one keeps what was typed, since today's metrics are not the cycle's.
    return _decorate(snapshot, live=cycle.status == CycleStatus.OPEN)


def snapshot_as_of(cycle: Cycle, when: datetime) -> Snapshot:
    """The cycle as it stood at `when`, from its history."""
    record = cycle.history.filter(history_date__lte=when).first()
    if record is None:
        first = cycle.history.order_by("history_date").first()
        raise NotYetRecorded(first.history_date if first else None, cycle.created)
    past = record.instance
    past.system = cycle.system

    def link(model: type[models.Model]) -> models.Model | None:
        return model.history.as_of(when).filter(cycle_id=cycle.pk).first()

    def rows(model: type[models.Model], parent: models.Model | None, key: str):
        if parent is None:
            return []
        found = model.history.as_of(when).filter(**{key: parent.pk})
        return sorted(found, key=_sort_key(model))

    snapshot = Snapshot(cycle=past, as_of=when)
    snapshot.slos = rows(Slo, past, "cycle_id")
    snapshot.constraint = link(ConstraintChoice)
    snapshot.validation = link(ValidationExperiment)
    snapshot.problem = link(Problem)
    snapshot.whys = rows(Why, snapshot.problem, "problem_id")
    snapshot.conflict = link(Conflict)
    snapshot.assumptions = rows(Assumption, snapshot.conflict, "conflict_id")
    snapshot.innovation = link(Innovation)
    snapshot.tiers = rows(Tier, snapshot.innovation, "innovation_id")
    snapshot.experiment = link(Experiment)
    snapshot.criteria = rows(Criterion, snapshot.experiment, "experiment_id")
    snapshot.rollout = link(Rollout)
    snapshot.phases = rows(RolloutPhase, snapshot.rollout, "rollout_id")
    snapshot.outcome = link(Outcome)
    snapshot.outcome_rows = rows(OutcomeRow, snapshot.outcome, "outcome_id")
    return _decorate(snapshot, live=False)


def _sort_key(model: type[models.Model]):
    """The model's own ordering, applied in Python to the versions from history."""
    names = [name.lstrip("-") for name in model._meta.ordering] or ["id"]
    return lambda row: tuple(getattr(row, name) for name in names)


def _decorate(snapshot: Snapshot, *, live: bool) -> Snapshot:
    """Adds what the pages show beside the fields: SLO status, verdicts, changes."""
    cycle = snapshot.cycle
    if live:
        decorate_rows(cycle, "slos", snapshot.slos)
    else:
        for slo in snapshot.slos:
            slo.live = slo.measured_from != MeasuredFrom.TYPED
            slo.status = (
                evaluate_slo(slo.comparator, slo.target, slo.measured)
                if slo.target is not None
                else None
            )
    decorate_rows(cycle, "criteria", snapshot.criteria)
    decorate_rows(cycle, "outcome-rows", snapshot.outcome_rows)
    verdict, _ = judge(
        [
            CriterionSpec(c.metric, c.comparator, c.threshold, c.result)
            for c in snapshot.criteria
        ]
    )
    snapshot.verdict = str(verdict)
    snapshot.stage_names = dict(cycle.system.stages.values_list("slug", "name"))
    snapshot.validation_figures = validation_figures(cycle.system, snapshot.validation)
    return snapshot


@dataclass(frozen=True)
class Summary:
    """The chain of one cycle in a line, for the system's history."""

    constraint: str
    root_cause: str
    broken_assumption: str
    innovation: str
    decision: str
    results: list[str]


def summarise(cycle: Cycle) -> Summary:
    """Needs the links selected and `outcome__rows` prefetched (see views)."""
    constraint = getattr(cycle, "constraint", None)
    problem = getattr(cycle, "problem", None)
    conflict = getattr(cycle, "conflict", None)
    innovation = getattr(cycle, "innovation", None)
    experiment = getattr(cycle, "experiment", None)
    outcome = getattr(cycle, "outcome", None)
    broken = conflict.broken_assumption if conflict else None
    labels = dict(Pattern.choices)
    design = ""
    if innovation:
        design = " + ".join(labels.get(p, p) for p in innovation.patterns)
        design = design or innovation.summary
    return Summary(
        constraint=constraint.stage_name if constraint else "",
        root_cause=problem.get_root_cause_display() if problem else "",
        broken_assumption=broken.text if broken else "",
        innovation=design,
        decision=experiment.get_decision_display()
        if experiment and experiment.decision
        else "",
        results=[before_after(row) for row in outcome.rows.all()] if outcome else [],
    )


def before_after(row: OutcomeRow) -> str:
    """ "p95 latency 4.2 s → 280 ms, 15× faster" for a row in one unit."""
    unit = row.unit if row.unit in ("", "%") else f" {row.unit}"
    change = describe_change(row.before, row.after, row.lower_is_better, row.unit)
    return (
        f"{row.metric} {number(row.before)}{unit} → {number(row.after)}{unit}, {change}"
    )


def number(value: float | None) -> str:
    """A typed value without float noise or trailing zeros: 12.5, 47, 0.001."""
    return "—" if value is None else f"{value:,.6g}"
