"""The validation experiment: give the suspect stage extra capacity for a while (the
article's "3× for a day") and compare its metrics during the change with before.

If the suspect really is the constraint, the system's throughput rises with it;
``system_throughput`` reads that off the last stage, and ``validation_verdict`` says
in one sentence what the rise, or its absence, means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from toc.analysis.ledger import LedgerRow, StageSample, ledger_rows
from toc.analysis.outcome import describe_change, improved
from toc.analysis.validation import require_aware, require_non_negative
from toc.lib.formats import compact

# The stage name the ledger needs; a period holds one stage only.
_STAGE = "stage"


@dataclass(frozen=True, slots=True)
class PeriodPoint:
    """One stage over one minute: ``load`` (records processed per second) and
    ``capacity`` in records/s, ``utilization`` a share 0..1 when reported."""

    t: datetime
    load: float
    capacity: float
    utilization: float | None
    queue_depth: int
    latency_p95_ms: float

    def __post_init__(self) -> None:
        require_aware(self.t, "t")
        for name in ("load", "capacity", "queue_depth", "latency_p95_ms"):
            require_non_negative(name, getattr(self, name))
        if self.utilization is not None:
            require_non_negative("utilization", self.utilization)


class PeriodMetric(StrEnum):
    THROUGHPUT = "throughput"
    CAPACITY = "capacity"
    UTILIZATION = "utilization"
    MAX_LATENCY_P95_MS = "max_latency_p95_ms"
    QUEUE_DEPTH = "queue_depth"
    QUEUE_TREND = "queue_trend"


@dataclass(frozen=True, slots=True)
class PeriodSummary:
    """One period of one stage; every metric is None when it has no points.

    ``throughput`` and ``capacity`` are means in records/s; ``utilization`` is the
    mean reported share, else load / capacity, as in the ledger;
    ``max_latency_p95_ms`` is the worst minute's p95; ``queue_depth`` the last one;
    ``queue_trend`` the least-squares slope of the queue in records/s.
    """

    points: int
    throughput: float | None = None
    capacity: float | None = None
    utilization: float | None = None
    max_latency_p95_ms: float | None = None
    queue_depth: int | None = None
    queue_trend: float | None = None

    def value(self, metric: PeriodMetric) -> float | None:
        # Each PeriodMetric names one of the fields above.
        value: float | None = getattr(self, metric.value)
        return value


@dataclass(frozen=True, slots=True)
class MetricChange:
    """``change`` is worded by ``describe_change`` and ``improved`` says whether it
    went the right way; both are None when either period lacks the metric."""

    metric: PeriodMetric
    before: float | None
    during: float | None
    lower_is_better: bool
    change: str | None
    improved: bool | None


@dataclass(frozen=True, slots=True)
class PeriodComparison:
    before: PeriodSummary
    during: PeriodSummary
    changes: tuple[MetricChange, ...]

    def change(self, metric: PeriodMetric) -> MetricChange:
        return next(change for change in self.changes if change.metric is metric)


# Which way is better for each metric, and the unit its change is worded in. More
# capacity is the intervention itself, so it counts as the right way; utilization
# is worded in percentage points (the shares are scaled to percent first).
_METRICS: tuple[tuple[PeriodMetric, bool, str], ...] = (
    (PeriodMetric.THROUGHPUT, False, "records/s"),
    (PeriodMetric.CAPACITY, False, "records/s"),
    (PeriodMetric.UTILIZATION, True, "%"),
    (PeriodMetric.MAX_LATENCY_P95_MS, True, "ms"),
    (PeriodMetric.QUEUE_DEPTH, True, "records"),
    (PeriodMetric.QUEUE_TREND, True, "records/s"),
)


def summarize_period(points: Sequence[PeriodPoint]) -> PeriodSummary:
    if not points:
        return PeriodSummary(points=0)
    row = _ledger_row(points)
    return PeriodSummary(
        points=len(points),
        throughput=row.load,
        capacity=row.capacity,
        utilization=row.utilization,
        max_latency_p95_ms=max(point.latency_p95_ms for point in points),
        queue_depth=row.queue_depth,
        queue_trend=row.queue_trend,
    )


def compare_periods(
    before: Sequence[PeriodPoint], during: Sequence[PeriodPoint]
) -> PeriodComparison:
    """Summaries of both periods and the change of each metric from one to the other.

    The periods must not overlap: every point of ``before`` comes before the first
    point of ``during``.
    """
    if before and during and max(p.t for p in before) >= min(p.t for p in during):
        raise ValueError("the before period must end before the experiment starts")
    summary_before, summary_during = summarize_period(before), summarize_period(during)
    return PeriodComparison(
        before=summary_before,
        during=summary_during,
        changes=tuple(
            _change(metric, lower_is_better, unit, summary_before, summary_during)
            for metric, lower_is_better, unit in _METRICS
        ),
    )


# System throughput must rise by more than this share to count: the mean throughput
# of a pipeline under steady demand wanders a few percent from one hour to the next.
RISE = 0.05


class ValidationResult(StrEnum):
    CONSTRAINT = "constraint"
    NOT_CONSTRAINT = "not_constraint"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class ValidationVerdict:
    """The experiment's answer; ``before`` and ``during`` are the system's throughput
    in records/s (None where a period has no metrics of the last stage)."""

    result: ValidationResult
    sentence: str
    before: float | None
    during: float | None


def validation_verdict(
    suspect: str,
    stage: PeriodComparison,
    system: PeriodComparison,
    last_stage: str,
) -> ValidationVerdict:
    """The method's test: give the suspect extra capacity; if system throughput does
    not rise by more than ``RISE``, the suspect is not the constraint.

    ``stage`` compares the suspect's periods, ``system`` the last stage's. The
    verdict is inconclusive when a period has no metrics of the last stage, or when
    the suspect's reported capacity did not rise by more than ``RISE`` (the
    experiment did not give it the extra capacity, whatever was planned).
    """
    before, during = system.before.throughput, system.during.throughput
    if before is None or during is None:
        missing = " or ".join(
            name
            for name, value in (("before", before), ("during", during))
            if value is None
        )
        return ValidationVerdict(
            ValidationResult.INCONCLUSIVE,
            f"No metrics of {last_stage}, the last stage, were ingested {missing} "
            "the experiment, so there is no system throughput to compare.",
            before,
            during,
        )
    capacity = stage.change(PeriodMetric.CAPACITY)
    if (
        capacity.before is not None
        and capacity.during is not None
        and not _rose(capacity.before, capacity.during)
    ):
        return ValidationVerdict(
            ValidationResult.INCONCLUSIVE,
            f"{suspect}'s reported capacity did not rise "
            f"({_records(capacity.before, capacity.during)}), "
            "so the experiment has not tested it.",
            before,
            during,
        )
    figures = _records(before, during)
    change = describe_change(before, during, lower_is_better=False, unit="records/s")
    extra = f"while {suspect} had more capacity"
    if _rose(before, during):
        rise = "from zero" if before == 0 else change.removeprefix("+")
        return ValidationVerdict(
            ValidationResult.CONSTRAINT,
            f"System throughput rose {rise} ({figures}) {extra}: it is the constraint.",
            before,
            during,
        )
    return ValidationVerdict(
        ValidationResult.NOT_CONSTRAINT,
        f"System throughput did not rise ({change}, {figures}) {extra}: "
        f"{suspect} is not the constraint.",
        before,
        during,
    )


def system_throughput(last_stage_points: Sequence[PeriodPoint]) -> float | None:
    """Records/s the whole system delivers: in a serial pipeline that is what its last
    stage processes, whatever the stages before it manage. None without points."""
    return summarize_period(last_stage_points).throughput


def _rose(before: float, during: float) -> bool:
    return during > before * (1 + RISE) if before > 0 else during > 0


def _records(before: float, during: float) -> str:
    return f"{compact(before)} → {compact(during)} records/s"


def _ledger_row(points: Sequence[PeriodPoint]) -> LedgerRow:
    # A period is one stage over one window: computing it as a ledger row keeps its
    # utilization, latest queue and queue trend identical to the live ledger's.
    end = max(point.t for point in points)
    span = (end - min(point.t for point in points)).total_seconds()
    samples = [
        StageSample(
            stage=_STAGE,
            ts=point.t,
            throughput=point.load,
            capacity=point.capacity,
            utilization=point.utilization,
            latency_p95_ms=point.latency_p95_ms,
            queue_depth=point.queue_depth,
        )
        for point in points
    ]
    # The ledger window excludes its start; one second more takes in the first point.
    [row] = ledger_rows(samples, [_STAGE], end, window_s=math.ceil(span) + 1)
    return row


def _change(
    metric: PeriodMetric,
    lower_is_better: bool,
    unit: str,
    before: PeriodSummary,
    during: PeriodSummary,
) -> MetricChange:
    old, new = before.value(metric), during.value(metric)
    if old is None or new is None:
        return MetricChange(metric, old, new, lower_is_better, None, None)
    # Utilization is a share; the team reads its change in percentage points.
    scale = 100 if metric is PeriodMetric.UTILIZATION else 1
    return MetricChange(
        metric=metric,
        before=old,
        during=new,
        lower_is_better=lower_is_better,
        change=describe_change(old * scale, new * scale, lower_is_better, unit),
        improved=improved(old, new, lower_is_better),
    )
