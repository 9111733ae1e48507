"""A cycle's whole chain in one piece, now or as it stood at a moment.

The retrospective page and both exports read a Snapshot, so they always show
the same records. Now, the records come from the database; at a past moment,
from simple-history's tables, where each record is the last version saved up
to then (records created later, or deleted by then, are left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from django.db import models
from simple_history.utils import get_history_manager_for_model

from toc.analysis import describe_change
from toc.charts.stage import Mark, before_after_charts
from toc.cycles.models import (
    ConstraintChoice,
    Cycle,
    CycleStatus,
    OutcomeRow,
    Pattern,
)
from toc.cycles.readings import (
    GoalRow,
    Shown,
    goal_now,
    goal_of,
    recorded,
    slo_standings,
    verdict_of,
)
from toc.cycles.records import (
    KINDS,
    LINKS,
    RECORDS,
    ROWS,
    STEPS,
    RecordKind,
    RowKind,
)
from toc.lib.formats import number
from toc.metrics.ledger import ledger_response
from toc.metrics.series import one_stage_series
from toc.systems.models import Slo

OUTSIDE = "outside"  # the outcome's "next constraint" when it left the pipeline


class NotYetRecorded(Exception):
    """The cycle has no history up to the moment asked for."""

    def __init__(self, first: datetime | None, created: datetime) -> None:
        super().__init__("No history of the cycle up to that moment.")
        self.first = first  # the earliest history kept, if any
        self.created = created


@dataclass
class Snapshot:
    """Every record of the cycle by its link (`records["problem"]`, None if it was
    not there), every list by its name (`rows["outcome_rows"]`, each row a
    readings.Shown), and what is read beside them. Both read as attributes too:
    `s.problem`, `s.whys`."""

    cycle: Cycle
    as_of: datetime | None
    # Each of its kind's model, or (as_of) a historical version of one.
    records: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[Shown]] = field(default_factory=dict)
    # What the records' kinds read beside them, by key (the validation figures).
    readings: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""
    # The stages' names by slug: as they were when the cycle closed, or as they
    # are while it is open.
    stage_names: dict[str, str] = field(default_factory=dict)
    # The system's SLOs when the cycle opened beside now (or its close).
    goal: list[GoalRow] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        # Reached only for names a Snapshot lacks: a record's link or a list's name.
        for table in ("records", "rows"):
            found = self.__dict__.get(table, {})
            if name in found:
                return found[name]
        raise AttributeError(name)

    @property
    def validation_figures(self) -> dict | None:
        """Before and during the experiment, from the ingested metrics, with the
        verdict (readings.validation_figures)."""
        return self.readings.get("validation")

    @property
    def broken_assumption(self) -> Any:
        conflict = self.records.get("conflict")
        broken = conflict.broken_assumption_id if conflict else None
        return next((a for a in self.rows["assumptions"] if a.pk == broken), None)

    @property
    def pattern_labels(self) -> list[str]:
        labels = dict(Pattern.choices)
        innovation = self.records.get("innovation")
        patterns = innovation.patterns if innovation else []
        return [labels.get(p, p) for p in patterns]

    @property
    def validation_stage_name(self) -> str:
        validation = self.records.get("validation")
        slug = validation.stage if validation else ""
        return self.stage_names.get(slug, slug)

    @property
    def next_constraint_name(self) -> str:
        outcome = self.records.get("outcome")
        slug = outcome.next_constraint if outcome else ""
        if slug == OUTSIDE:
            return "Outside the pipeline (demand or policy)"
        return self.stage_names.get(slug, slug)


def _told(kind: RecordKind | RowKind) -> bool:
    """Whether a snapshot holds the kind: a stage's shared rows are not the cycle's."""
    return not (isinstance(kind, RowKind) and kind.shared)


LISTS = [kind for kind in ROWS.values() if _told(kind)]


def snapshot_now(cycle: Cycle) -> Snapshot:
    """The cycle as it stands; `cycle` comes from records.cycle_with_links."""
    snapshot = Snapshot(
        cycle=cycle,
        as_of=None,
        records={kind.link: kind.instance(cycle) for kind in LINKS},
        rows={kind.name: kind.show(kind.rows(cycle)) for kind in LISTS},
        # An open cycle's goal is read off the ledger, as its pages read it.
        goal=goal_now(cycle, partial(ledger_response, cycle.system)),
    )
    return _complete(snapshot)


def snapshot_as_of(cycle: Cycle, when: datetime) -> Snapshot:
    """The cycle as it stood at `when`, from its history."""
    record = cycle.history.filter(history_date__lte=when).first()
    if record is None:
        first = cycle.history.order_by("history_date").first()
        raise NotYetRecorded(first.history_date if first else None, cycle.created)
    past = record.instance
    past.system = cycle.system
    records = {
        kind.link: get_history_manager_for_model(kind.model)
        .as_of(when)
        .filter(cycle_id=cycle.pk)
        .first()
        for kind in LINKS
    }

    def rows(kind: RowKind) -> list[models.Model]:
        parent = past if kind.parent == "cycle" else records.get(kind.parent)
        if parent is None:
            return []
        found = (
            get_history_manager_for_model(kind.model)
            .as_of(when)
            .filter(**{kind.parent: parent.pk})
        )
        return sorted(found, key=_sort_key(kind.model))

    if past.closed_at is not None:
        latest = recorded(past.slos_closed)
    else:  # the system's SLOs as they were saved by then
        slos = Slo.history.as_of(when).filter(system_id=cycle.system_id)
        latest = slo_standings(sorted(slos, key=_sort_key(Slo)), None)
    snapshot = Snapshot(
        cycle=past,
        as_of=when,
        records=records,
        rows={kind.name: kind.show(rows(kind)) for kind in LISTS},
        goal=goal_of(past, latest),
    )
    return _complete(snapshot)


def _sort_key(model: type[models.Model]) -> Callable[[models.Model], tuple]:
    """The model's own ordering, applied in Python to the versions from history."""
    # These models order by field names, not expressions.
    ordering = cast("list[str]", model._meta.ordering)
    names = [name.lstrip("-") for name in ordering] or ["id"]
    return lambda row: tuple(getattr(row, name) for name in names)


def _complete(snapshot: Snapshot) -> Snapshot:
    """Adds what is read beside the records: the validation figures, the
    experiment's verdict, the stages' names."""
    cycle = snapshot.cycle
    snapshot.readings = {
        kind.key: kind.reading(cycle, snapshot.records[kind.link])
        for kind in RECORDS.values()
        if kind.read is not None
    }
    snapshot.verdict = str(verdict_of(snapshot.rows["criteria"]))
    names = dict(cycle.system.stages.values_list("slug", "name"))
    if cycle.status == CycleStatus.CLOSED:
        # A stage deleted since keeps its name; one renamed keeps the old one.
        names.update(cycle.stage_names)
    snapshot.stage_names = names
    return snapshot


@dataclass(frozen=True)
class Section:
    """A step as the retrospective and the Markdown export tell it."""

    number: int
    key: str
    title: str
    kinds: list[RecordKind | RowKind]
    present: bool  # False: the step's own record was not there yet


def sections(snapshot: Snapshot) -> list[Section]:
    return [
        Section(
            number=number,
            key=step,
            title=title,
            kinds=[kind for kind in KINDS if kind.step == step and _told(kind)],
            present=step not in snapshot.records or snapshot.records[step] is not None,
        )
        for number, (step, title) in enumerate(STEPS.items(), 1)
    ]


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


# The constraint stage around its cycle: before it opened, for as long again as
# it ran (a day at least, to have a trend to compare with; a month at most),
# then until it closed. No more than a quarter in all, as the stage page allows.
BEFORE_AT_LEAST = timedelta(days=1)
BEFORE_AT_MOST = timedelta(days=30)
SPAN_AT_MOST = timedelta(days=92)
# Seconds a point, and how hover names it: the smallest that keeps a line near
# 300 points, as the stage page's ranges do.
BUCKETS = (
    (60, None),
    (300, "5 min"),
    (1800, "30 min"),
    (7200, "2 h"),
    (21600, "6 h"),
    (43200, "12 h"),
)
POINTS = 360
# What the charts draw (SHOWN) of what stage_charts reads (SERIES).
SHOWN = ("utilization", "queue_depth", "latency_p95_ms")
SERIES = (*SHOWN, "blocked", "errors", "dropped")


@dataclass(frozen=True)
class BeforeAfter:
    """What the retrospective draws of its constraint stage from `start` to
    `end`: `charts` (before_after_charts) None when it reported nothing then."""

    stage: str  # its slug
    stage_name: str
    start: datetime
    end: datetime
    marks: list[Mark]
    charts: dict | None


def constraint_around(cycle: Cycle, now: datetime) -> BeforeAfter | None:
    """None while the cycle has no constraint stage, or once its stage is gone.
    `cycle` comes with its links (records.cycle_with_links)."""
    choice: ConstraintChoice | None = getattr(cycle, "constraint", None)
    if choice is None:
        return None
    stage = cycle.system.stages.filter(slug=choice.stage).first()
    if stage is None:
        return None
    opened = cycle.created
    end = cycle.closed_at or now
    before = min(max(end - opened, BEFORE_AT_LEAST), BEFORE_AT_MOST)
    start = max(opened - before, end - SPAN_AT_MOST)
    span = (end - start).total_seconds()
    bucket_s, bucket_label = next(
        (bucket for bucket in BUCKETS if span / bucket[0] <= POINTS), BUCKETS[-1]
    )
    series = one_stage_series(stage, start, end, bucket_s)
    first = _first_reported(series)
    name = choice.stage_name or stage.name
    if first is None:
        return BeforeAfter(stage.slug, name, start, end, [], None)
    # Time before the stage's first sample would be a blank stretch: the charts
    # start with its data (a stage added while the cycle ran has no "before").
    start = max(start, series["t"][first])
    shown = {key: series[key][first:] for key in ("t", *SERIES)}
    marks = _marks(cycle, start, end)
    charts = before_after_charts(
        shown["t"], (start, end), shown, opened, marks, bucket_label
    )
    return BeforeAfter(stage.slug, name, start, end, marks, charts)


def _first_reported(series: dict) -> int | None:
    """The first bucket in which the stage reported anything the charts draw."""
    for n, values in enumerate(zip(*(series[name] for name in SHOWN), strict=True)):
        if any(value is not None for value in values):
            return n
    return None


def _marks(cycle: Cycle, start: datetime, end: datetime) -> list[Mark]:
    """The cycle's opening, its decision and its close, where in view."""
    experiment = getattr(cycle, "experiment", None)
    marks = [Mark(cycle.created, "Opened")]
    if experiment and experiment.decided_at:
        decision = experiment.get_decision_display()
        marks.append(Mark(experiment.decided_at, f"Decided: {decision}"))
    if cycle.closed_at:
        marks.append(Mark(cycle.closed_at, "Closed"))
    return [mark for mark in marks if start <= mark.at <= end]
