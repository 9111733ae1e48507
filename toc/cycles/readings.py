"""What a cycle's pages, the API and the exports show beside its stored records:
the system's SLOs measured off the ledger, the goal a cycle recorded, criteria
judged, before/after changes, feature values and the validation experiment's
figures.

Each is handed out as a small view object next to the row it is about
(`Shown`); nothing is written onto a model instance, so no later save() can
store a live value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models

from toc.analysis import Criterion as CriterionSpec
from toc.analysis import (
    ExperimentVerdict,
    FeatureValue,
    PeriodPoint,
    compare_periods,
    data_loss_share,
    describe_change,
    evaluate_slo,
    feature_values,
    improved,
    judge,
    validation_verdict,
)
from toc.analysis import Feature as FeatureSpec
from toc.cycles.models import Cycle, CycleStatus, OutcomeRow, ValidationExperiment
from toc.lib import formats
from toc.metrics.models import SloBudget
from toc.metrics.series import stage_series
from toc.systems.models import Comparator, Feature, MeasuredFrom, Slo, Stage, System

# The live ledger, read when first needed; None where a cycle's SLOs keep what
# was typed (a closed cycle, a past moment).
Ledger = Callable[[], dict | None] | None

# Features contributing less than this share of the importance are pruning candidates.
CONTRIBUTION_FLOOR = 0.01
# How many milliseconds one unit of an SLO's time unit is.
TIME_UNITS_MS = {"ms": 1, "s": 1000, "sec": 1000, "min": 60_000, "minutes": 60_000}


@dataclass(frozen=True)
class Shown:
    """A row (or a cycle, a record) as pages show it: the stored row, and what
    is read beside it.

    A template reads both through it (`slo.name`, `slo.status`), the reading
    first: a live SLO's `measured` is the ledger's, as the page shows it. The
    API's serializers are handed `row` and `reading` apart, so that stored
    fields read as stored there.
    """

    row: models.Model
    reading: Any = None

    def __getattr__(self, name: str) -> Any:
        # Reached only for names a Shown lacks. Dunders are left alone so that
        # copy and pickle find none on a half-built instance.
        fields = self.__dict__
        if name.startswith("__") or "row" not in fields:
            raise AttributeError(name)
        reading = fields["reading"]
        if reading is not None and hasattr(reading, name):
            return getattr(reading, name)
        return getattr(fields["row"], name)


@dataclass(frozen=True)
class LiveBudget:
    """A live SLO's compliance and error budget as the worker last computed
    them (metrics.SloBudget); both None until it has."""

    objective: float
    compliance: float | None
    remaining: float | None
    alert: str  # "", "page" or "ticket"

    @classmethod
    def of(cls, slo: Any, figures: SloBudget | None) -> LiveBudget:
        """A live SLO's budget from its stored figures (None before the worker's
        first pass)."""
        return cls(
            objective=slo.objective,
            compliance=figures.compliance if figures else None,
            remaining=figures.budget_remaining if figures else None,
            alert=figures.alert if figures else "",
        )

    @property
    def compliance_words(self) -> str:
        return formats.compliance(self.compliance, self.objective)

    @property
    def remaining_words(self) -> str:
        return formats.budget_left(self.remaining)

    @property
    def met(self) -> bool | None:
        return None if self.compliance is None else self.compliance >= self.objective


def live_budgets(slos: Iterable[Any]) -> dict[int, LiveBudget]:
    """The live SLOs' budgets by SLO id, in one query (none without a live SLO)."""
    live = [slo for slo in slos if slo.is_live]
    if not live:
        return {}
    figures = {row.slo_id: row for row in SloBudget.objects.filter(slo__in=live)}
    return {slo.pk: LiveBudget.of(slo, figures.get(slo.pk)) for slo in live}


@dataclass(frozen=True)
class MeasuredSlo:
    live: bool  # read off the ledger rather than typed in
    measured: float | None
    status: str | None  # met, violated or unknown; None without a target
    budget: LiveBudget | None = None  # bound to an indicator, with an objective


@dataclass(frozen=True)
class JudgedCriterion:
    passed: bool | None  # None until it has a result


@dataclass(frozen=True)
class OutcomeChange:
    change: str  # "15× faster", "+12%"
    improved: bool | None


@dataclass(frozen=True)
class ValuedFeature:
    value: FeatureValue


def measure_slos(slos: Iterable[Slo], ledger: Ledger = None) -> list[Shown]:
    """Each SLO with its measured value and status. With a ledger, an SLO
    measured from metrics reads it now; without, every SLO keeps what was stored."""
    slos = list(slos)
    live = [slo.measured_from != MeasuredFrom.TYPED for slo in slos]
    current = ledger() if ledger is not None and any(live) else None
    budgets = live_budgets(slos)
    shown = []
    for slo, is_live in zip(slos, live, strict=True):
        measured = slo.measured
        if is_live and current is not None:
            measured = measured_from_metrics(slo.measured_from, slo.unit, current)
        status = (
            evaluate_slo(slo.comparator, slo.target, measured)
            if slo.target is not None
            else None
        )
        reading = MeasuredSlo(is_live, measured, status, budgets.get(slo.pk))
        shown.append(Shown(slo, reading))
    return shown


@dataclass(frozen=True)
class SloStanding:
    """An SLO with its measured value and status at one moment: now, or as a
    cycle recorded it when it opened or closed (Cycle.slos_opened, slos_closed
    hold these as dicts)."""

    name: str
    dimension: str
    comparator: str
    target: float | None
    unit: str
    measured: float | None
    live: bool
    status: str | None
    # A live SLO's compliance over its window (metrics.SloBudget), a share;
    # None for others, and in what cycles recorded before SLOs had budgets.
    compliance: float | None = None

    @property
    def comparator_symbol(self) -> str:
        return Comparator(self.comparator).label


def slo_standings(slos: Iterable[Slo], ledger: Ledger) -> list[SloStanding]:
    """The SLOs as they stand, live ones measured off the ledger."""
    return [_standing(slo) for slo in measure_slos(slos, ledger)]


def _standing(slo: Shown) -> SloStanding:
    return SloStanding(
        name=slo.name,
        dimension=slo.dimension,
        comparator=slo.comparator,
        target=slo.target,
        unit=slo.unit,
        measured=slo.reading.measured,
        live=slo.reading.live,
        status=None if slo.reading.status is None else str(slo.reading.status),
        compliance=slo.budget.compliance if slo.budget else None,
    )


@dataclass(frozen=True)
class GoalRow:
    """One SLO of a cycle's goal: as it stood when the cycle opened, and now
    (or when it closed). Either is None for an SLO added or removed meanwhile.
    A live SLO of an open cycle has its budget now beside them."""

    opened: SloStanding | None
    latest: SloStanding | None
    budget: LiveBudget | None = None

    @property
    def slo(self) -> SloStanding:
        return self.latest or self.opened  # type: ignore[return-value]

    @property
    def compliance_change(self) -> tuple[float, float] | None:
        """A live SLO's compliance when the cycle opened and now (or when it
        closed), as percentages: an outcome row's before and after."""
        before = self.opened.compliance if self.opened else None
        after = self.budget.compliance if self.budget else None
        if after is None and self.latest is not None:
            after = self.latest.compliance
        if before is None or after is None:
            return None
        return before * 100, after * 100


def recorded(record: list[dict] | None) -> list[SloStanding]:
    return [SloStanding(**item) for item in record or []]


def goal_of(
    cycle: Cycle,
    latest: list[SloStanding],
    budgets: dict[str, LiveBudget] | None = None,
) -> list[GoalRow]:
    """The cycle's goal: each SLO at its opening beside `latest`, matched by
    name, in the order of `latest` and then those no longer there; `budgets`
    by SLO name."""
    opened = {slo.name: slo for slo in recorded(cycle.slos_opened)}
    budgets = budgets or {}
    rows = [
        GoalRow(opened.pop(slo.name, None), slo, budgets.get(slo.name))
        for slo in latest
    ]
    return rows + [GoalRow(slo, None) for slo in opened.values()]


def goal_now(cycle: Cycle, ledger: Ledger) -> list[GoalRow]:
    """An open cycle's goal against the system's SLOs now, live ones with their
    budgets; a closed one's against what it recorded at its close."""
    if cycle.status == CycleStatus.CLOSED:
        return goal_of(cycle, recorded(cycle.slos_closed))
    shown = measure_slos(cycle.system.slos.all(), ledger)
    budgets = {slo.name: slo.budget for slo in shown if slo.budget is not None}
    return goal_of(cycle, [_standing(slo) for slo in shown], budgets)


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


def _criterion(row: Any) -> CriterionSpec:
    return CriterionSpec(row.metric, row.comparator, row.threshold, row.result)


def judge_criteria(criteria: Iterable[models.Model]) -> list:
    criteria = list(criteria)
    _, outcomes = judge([_criterion(c) for c in criteria])
    return [
        Shown(criterion, JudgedCriterion(outcome.passed))
        for criterion, outcome in zip(criteria, outcomes, strict=True)
    ]


def verdict_of(criteria: Iterable[Any]) -> ExperimentVerdict:
    """What the criteria say together: passed, failed or incomplete."""
    verdict, _ = judge([_criterion(c) for c in criteria])
    return verdict


def outcome_changes(rows: Iterable[OutcomeRow]) -> list:
    return [
        Shown(
            row,
            OutcomeChange(
                describe_change(row.before, row.after, row.lower_is_better, row.unit),
                improved(row.before, row.after, row.lower_is_better),
            ),
        )
        for row in rows
    ]


def values_of(features: Iterable[Any]) -> list[FeatureValue]:
    specs = [FeatureSpec(f.name, f.importance, f.compute_cost) for f in features]
    return feature_values(specs, CONTRIBUTION_FLOOR)


def value_features(features: Iterable[Feature]) -> list:
    """The features with their value, the most valuable first."""
    features = list(features)
    values = {value.name: value for value in values_of(features)}
    shown = [Shown(f, ValuedFeature(values[f.name])) for f in features]
    return sorted(shown, key=lambda s: (-s.reading.value.score, s.row.name))


def constraint_stage(cycle: Cycle) -> Stage | None:
    return cycle.system.stages.filter(slug=cycle.constraint.stage).first()


def validation_figures(
    system: System,
    validation: ValidationExperiment | None,
    names: dict[str, str] | None = None,
) -> dict | None:
    """Before and during the validation experiment, from the stored rollups, and the
    verdict they give; None without an experiment or when its stage is gone.
    Stages are called by `names` (slug: name) where it has them: a closed
    cycle's names of then."""
    if validation is None:
        return None
    stages = list(system.stages.all())
    stage = next((s for s in stages if s.slug == validation.stage), None)
    if stage is None:
        return None
    length = validation.ended - validation.started
    before_start = validation.started - min(length, timedelta(days=2))

    def points(target: Stage, start: datetime, end: datetime) -> list[PeriodPoint]:
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
    names = names or {}
    stage_name = names.get(stage.slug, stage.name)
    last_name = names.get(last.slug, last.name)
    return {
        "stage": suspect,
        "system": system_figures,
        "stage_name": stage_name,
        "last_stage_name": last_name,
        "verdict": validation_verdict(stage_name, suspect, system_figures, last_name),
    }


def figures_of_validation(
    cycle: Cycle, validation: ValidationExperiment
) -> dict | None:
    return validation_figures(cycle.system, validation, cycle.stage_names)
