"""Per-stage ledger rows from raw stage samples over a window of sample time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from toc.analysis.validation import require_aware, require_non_negative, require_unique

# A queue grows (or shrinks) only when its trend is sustained and large:
# - the fitted rise over the readings is at least this many times the queue's
#   own scatter around the line, so one burst reading or a queue that swings at
#   random is not a trend (a lone spike at the window's edge rises about 1x);
TREND_TO_SCATTER = 3.0
# - it is at least this share of the stage's throughput: 0.5% more arriving than
#   leaving piles up 1.5 s of work every 5 minutes, while the queue of a busy but
#   stable stage drifts at random by far less;
TREND_SHARE_OF_LOAD = 0.005
# - the readings span at least a minute, and there are three of them.
MIN_TREND_SPAN_S = 60.0
MIN_TREND_SAMPLES = 3


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
class Measured:
    """The metrics of a row with data, none of them None (``LedgerRow.measured``)."""

    capacity: float
    load: float
    utilization: float
    busy: float
    headroom: float
    queue_depth: int
    queue_trend: float


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One stage's line in the ledger.

    ``samples == 0`` means the stage reported nothing in the window: its metrics are
    then None and it can never be the constraint. ``queue_trend`` is the
    least-squares slope of the queue (records/s) and ``queue_trend_noise`` the
    slope that its scatter alone could fake (residual spread / time spanned; infinite
    with too few readings to tell, 0 for a clean line).
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
    queue_trend_noise: float = 0.0
    first_sample_at: datetime | None = None
    last_sample_at: datetime | None = None

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

    def measured(self) -> Measured:
        """The metrics of a row with data, typed as present; ValueError without.

        Code that has already kept the rows with data reads them through this
        rather than checking each optional field again.
        """
        if (
            self.capacity is None
            or self.load is None
            or self.utilization is None
            or self.queue_depth is None
            or self.queue_trend is None
        ):
            raise ValueError(f"{self.stage}: the row has no data")
        busy = _busy(self.utilization, self.blocked)
        return Measured(
            capacity=self.capacity,
            load=self.load,
            utilization=self.utilization,
            busy=busy,
            headroom=_headroom(busy),
            queue_depth=self.queue_depth,
            queue_trend=self.queue_trend,
        )

    @property
    def busy(self) -> float | None:
        """Share of time spent working: utilization minus the time blocked."""
        if self.utilization is None:
            return None
        return _busy(self.utilization, self.blocked)

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
        return _headroom(busy)

    @property
    def posting_interval_s(self) -> float | None:
        """The mean time between the stage's readings in the window."""
        if self.first_sample_at is None or self.last_sample_at is None:
            return None
        if self.samples < 2:
            return None
        span = (self.last_sample_at - self.first_sample_at).total_seconds()
        return span / (self.samples - 1)

    @property
    def queue_growing(self) -> bool:
        """Whether the queue grows in a sustained way (see TREND_TO_SCATTER)."""
        return (
            self.queue_trend is not None
            and self.queue_trend > 0
            and (self._trend_is_sustained(self.queue_trend))
        )

    @property
    def queue_shrinking(self) -> bool:
        return (
            self.queue_trend is not None
            and self.queue_trend < 0
            and (self._trend_is_sustained(-self.queue_trend))
        )

    def _trend_is_sustained(self, rate: float) -> bool:
        return (
            rate >= TREND_TO_SCATTER * self.queue_trend_noise
            and rate >= TREND_SHARE_OF_LOAD * (self.load or 0.0)
        )


def _busy(utilization: float, blocked: float | None) -> float:
    return max(0.0, utilization - (blocked or 0.0))


def _headroom(busy: float) -> float:
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
    mean_blocked = sum(blocked) / len(blocked) if blocked else None
    # Several samples may share the latest ts; the deepest queue is the safer reading.
    latest = max(samples, key=lambda sample: (sample.ts, sample.queue_depth))
    first_at = min(sample.ts for sample in samples)
    times = [(sample.ts - first_at).total_seconds() for sample in samples]
    depths = [float(sample.queue_depth) for sample in samples]
    trend, noise = queue_line(
        QueueSums(
            count=count,
            time_sum=sum(times),
            queue_sum=sum(depths),
            time_sq_sum=sum(t * t for t in times),
            time_queue_sum=sum(t * q for t, q in zip(times, depths, strict=True)),
            queue_sq_sum=sum(q * q for q in depths),
            span_s=(latest.ts - first_at).total_seconds(),
        )
    )
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
            mean_blocked,
        ),
        blocked=mean_blocked,
        latency_p95_ms=nearest_rank_p95([sample.latency_p95_ms for sample in samples]),
        queue_depth=latest.queue_depth,
        queue_trend=trend,
        failure_mode=dominant_failure_mode(_tally_failure_modes(samples)),
        errors=sum(sample.errors for sample in samples),
        dropped=sum(sample.dropped for sample in samples),
        queue_trend_noise=noise,
        first_sample_at=first_at,
        last_sample_at=latest.ts,
    )


def derive_utilization(
    mean_reported: float | None,
    load: float,
    capacity: float,
    queue_depth: int,
    mean_blocked: float | None = None,
) -> float:
    """Mean reported utilization when any sample reported one, else the share of
    time working (load / capacity) plus the share blocked: utilization counts the
    time a stage is occupied, working or waiting on its successor.

    Capped at 1 because a stage cannot process more than it can; a higher ratio
    means the capacity figure is stale, not that the stage is over 100% busy. A
    stage with no capacity is fully used as soon as anything reaches it.
    """
    if mean_reported is not None:
        return mean_reported
    if capacity > 0:
        return min(1.0, load / capacity + (mean_blocked or 0.0))
    return 1.0 if load > 0 or queue_depth > 0 else 0.0


def nearest_rank_p95(values: Sequence[float]) -> float:
    """95th percentile by the nearest-rank method: the smallest observed value with at
    least 95% of the values at or below it (never an interpolated value)."""
    ordered = sorted(values)
    rank = (95 * len(ordered) + 99) // 100  # ceil(0.95 n) without float rounding
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class QueueSums:
    """Least-squares sums of queue depth q against time t (seconds from the first
    reading), over ``count`` readings spanning ``span_s`` seconds. They add up across
    rollups, so raw samples and rollups give the same line."""

    count: int
    time_sum: float
    queue_sum: float
    time_sq_sum: float
    time_queue_sum: float
    queue_sq_sum: float
    span_s: float


def queue_line(sums: QueueSums) -> tuple[float, float]:
    """(trend, noise) of the queue in records/s: the least-squares slope, and the
    slope its scatter alone could fake, the residual standard deviation over the
    span (infinite when too few readings or too short a span to tell)."""
    count = sums.count
    spread = sums.time_sq_sum - sums.time_sum**2 / count
    # Rounding can leave a tiny or negative spread when timestamps nearly coincide.
    if sums.span_s <= 0 or spread <= 0:
        return 0.0, math.inf
    covariance = sums.time_queue_sum - sums.time_sum * sums.queue_sum / count
    trend = covariance / spread
    if count < MIN_TREND_SAMPLES or sums.span_s < MIN_TREND_SPAN_S:
        return trend, math.inf
    queue_spread = sums.queue_sq_sum - sums.queue_sum**2 / count
    residual = max(0.0, queue_spread - covariance * trend)
    scatter = math.sqrt(residual / (count - 2))
    return trend, scatter / sums.span_s


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
