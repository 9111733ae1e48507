"""Per-stage ledger rows from raw stage samples over a window of sample time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from toc.analysis.validation import require_aware, require_non_negative, require_unique

# A least-squares slope this small (records/s) is measurement noise, not a trend.
QUEUE_TREND_EPSILON = 0.05


@dataclass(frozen=True, slots=True)
class StageSample:
    """One report from a pipeline stage.

    ``throughput`` and ``capacity`` are records/s. ``utilization`` and ``blocked`` are
    shares of time (0..1); ``blocked`` is the part of the occupied time spent waiting
    on the successor, so it is included in ``utilization``.
    """

    stage: str
    ts: datetime
    throughput: float
    capacity: float
    utilization: float | None
    latency_p95_ms: float
    queue_depth: int
    errors: int = 0
    dropped: int = 0
    blocked: float | None = None
    failure_mode: str = ""

    def __post_init__(self) -> None:
        require_aware(self.ts, "ts")
        for name in (
            "throughput",
            "capacity",
            "latency_p95_ms",
            "queue_depth",
            "errors",
            "dropped",
        ):
            require_non_negative(name, getattr(self, name))
        for name in ("utilization", "blocked"):
            value = getattr(self, name)
            if value is not None:
                require_non_negative(name, value)


@dataclass(frozen=True, slots=True)
class FailureModeTally:
    mode: str
    count: int
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One stage's line in the ledger.

    ``samples == 0`` means the stage reported nothing in the window: its metrics are
    then None and it can never be the constraint.
    """

    stage: str
    samples: int = 0
    capacity: float | None = None
    load: float | None = None
    utilization: float | None = None
    blocked: float | None = None
    latency_p95_ms: float | None = None
    queue_depth: int | None = None
    queue_trend: float | None = None
    failure_mode: str = ""
    errors: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        required = (
            self.capacity,
            self.load,
            self.utilization,
            self.latency_p95_ms,
            self.queue_depth,
            self.queue_trend,
        )
        if self.samples < 0:
            raise ValueError("samples must not be negative")
        if (self.samples > 0) != all(value is not None for value in required):
            raise ValueError(
                f"{self.stage}: a row has all of its metrics exactly when samples > 0"
            )

    @property
    def has_data(self) -> bool:
        return self.samples > 0

    @property
    def busy(self) -> float | None:
        """Share of time spent working: utilization minus the time blocked."""
        if self.utilization is None:
            return None
        return max(0.0, self.utilization - (self.blocked or 0.0))

    @property
    def headroom(self) -> float | None:
        """Factor by which load can grow before the stage is fully busy (1 / busy).

        Infinite for an idle stage, None without data. With no ``blocked`` reported
        this is 1 / utilization; blocked time does not count because a stage that
        waits on its successor could do more work if the successor let it.
        """
        busy = self.busy
        if busy is None:
            return None
        return math.inf if busy == 0 else 1 / busy


def ledger_rows(
    samples: Iterable[StageSample],
    stage_order: Sequence[str],
    window_end: datetime,
    window_s: int = 300,
) -> list[LedgerRow]:
    """One row per stage of ``stage_order``, from samples with
    ``window_end - window_s < ts <= window_end``.

    The window is sample time, never wall-clock time, so a backfill computes the same
    ledger as live ingestion did. Samples of stages outside ``stage_order`` are ignored.
    """
    require_aware(window_end, "window_end")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    require_unique(stage_order, "stage_order")
    window_start = window_end - timedelta(seconds=window_s)
    in_window: dict[str, list[StageSample]] = {stage: [] for stage in stage_order}
    for sample in samples:
        stage_samples = in_window.get(sample.stage)
        if stage_samples is not None and window_start < sample.ts <= window_end:
            stage_samples.append(sample)
    return [_row_from_samples(stage, in_window[stage]) for stage in stage_order]


def _row_from_samples(stage: str, samples: list[StageSample]) -> LedgerRow:
    if not samples:
        return LedgerRow(stage)
    count = len(samples)
    capacity = sum(sample.capacity for sample in samples) / count
    load = sum(sample.throughput for sample in samples) / count
    reported = [
        clamp_share(sample.utilization)
        for sample in samples
        if sample.utilization is not None
    ]
    blocked = [
        clamp_share(sample.blocked) for sample in samples if sample.blocked is not None
    ]
    # Several samples may share the latest ts; the deepest queue is the safer reading.
    latest = max(samples, key=lambda sample: (sample.ts, sample.queue_depth))
    return LedgerRow(
        stage=stage,
        samples=count,
        capacity=capacity,
        load=load,
        utilization=derive_utilization(
            sum(reported) / len(reported) if reported else None,
            load,
            capacity,
            latest.queue_depth,
        ),
        blocked=sum(blocked) / len(blocked) if blocked else None,
        latency_p95_ms=nearest_rank_p95([sample.latency_p95_ms for sample in samples]),
        queue_depth=latest.queue_depth,
        queue_trend=_queue_trend(samples),
        failure_mode=dominant_failure_mode(_tally_failure_modes(samples)),
        errors=sum(sample.errors for sample in samples),
        dropped=sum(sample.dropped for sample in samples),
    )


def derive_utilization(
    mean_reported: float | None, load: float, capacity: float, queue_depth: int
) -> float:
    """Mean reported utilization when any sample reported one, else load / capacity.

    The ratio is capped at 1 because a stage cannot process more than it can; a higher
    ratio means the capacity figure is stale, not that the stage is over 100% busy.
    A stage with no capacity is fully used as soon as anything reaches it.
    """
    if mean_reported is not None:
        return mean_reported
    if capacity > 0:
        return min(1.0, load / capacity)
    return 1.0 if load > 0 or queue_depth > 0 else 0.0


def nearest_rank_p95(values: Sequence[float]) -> float:
    """95th percentile by the nearest-rank method: the smallest observed value with at
    least 95% of the values at or below it (never an interpolated value)."""
    ordered = sorted(values)
    rank = (95 * len(ordered) + 99) // 100  # ceil(0.95 n) without float rounding
    return ordered[rank - 1]


def _queue_trend(samples: list[StageSample]) -> float:
    """Least-squares slope of queue depth against sample time, in records/s."""
    origin = min(sample.ts for sample in samples)
    times = [(sample.ts - origin).total_seconds() for sample in samples]
    if len(set(times)) < 2:
        return 0.0
    depths = [float(sample.queue_depth) for sample in samples]
    mean_time = sum(times) / len(times)
    mean_depth = sum(depths) / len(depths)
    spread = sum((time - mean_time) ** 2 for time in times)
    covariance = sum(
        (time - mean_time) * (depth - mean_depth)
        for time, depth in zip(times, depths, strict=True)
    )
    return covariance / spread


def _tally_failure_modes(samples: list[StageSample]) -> tuple[FailureModeTally, ...]:
    tallies: dict[str, FailureModeTally] = {}
    for sample in samples:
        if not sample.failure_mode:
            continue
        seen = tallies.get(sample.failure_mode)
        tallies[sample.failure_mode] = FailureModeTally(
            mode=sample.failure_mode,
            count=1 if seen is None else seen.count + 1,
            last_seen=sample.ts if seen is None else max(seen.last_seen, sample.ts),
        )
    return tuple(sorted(tallies.values(), key=lambda tally: tally.mode))


def dominant_failure_mode(tallies: Iterable[FailureModeTally]) -> str:
    """Most frequent mode; a tie goes to the most recently seen, then alphabetically."""
    ordered = sorted(tallies, key=lambda tally: tally.mode)
    if not ordered:
        return ""
    return max(ordered, key=lambda tally: (tally.count, tally.last_seen)).mode


def clamp_share(value: float) -> float:
    # Agents report slightly over 100% (e.g. CPU summed across cores); it means "full".
    return min(1.0, value)
