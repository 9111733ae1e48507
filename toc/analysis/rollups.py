"""Pre-aggregated stage samples (e.g. one rollup per stage per minute) that merge in any
order into the same ledger row as the raw samples would give."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from toc.analysis.ledger import (
    FailureModeTally,
    LedgerRow,
    QueueSums,
    StageSample,
    clamp_share,
    derive_utilization,
    dominant_failure_mode,
    queue_line,
)
from toc.analysis.validation import require_unique


@dataclass(frozen=True, slots=True)
class StageRollup:
    """Sums over some samples of one stage.

    The least-squares sums (``time_sum`` = Σt, ``queue_sum`` = Σq,
    ``time_sq_sum`` = Σt², ``time_queue_sum`` = Σtq, ``queue_sq_sum`` = Σq²,
    n = ``count``) measure t in
    seconds since ``first_ts``: epoch seconds squared would lose the trend to float
    rounding. ``last_queue_depth``
    is the depth at ``last_ts`` (the deepest, if several samples share it).
    ``failure_modes`` is sorted by mode so equal rollups compare equal.
    """

    stage: str
    first_ts: datetime
    last_ts: datetime
    count: int
    capacity_sum: float
    throughput_sum: float
    utilization_sum: float
    utilization_count: int
    blocked_sum: float
    blocked_count: int
    latency_p95_max_ms: float
    last_queue_depth: int
    time_sum: float
    queue_sum: float
    time_sq_sum: float
    time_queue_sum: float
    queue_sq_sum: float
    errors: int
    dropped: int
    failure_modes: tuple[FailureModeTally, ...]


def rollup_sample(sample: StageSample) -> StageRollup:
    return StageRollup(
        stage=sample.stage,
        first_ts=sample.ts,
        last_ts=sample.ts,
        count=1,
        capacity_sum=sample.capacity,
        throughput_sum=sample.throughput,
        utilization_sum=(
            0.0 if sample.utilization is None else clamp_share(sample.utilization)
        ),
        utilization_count=0 if sample.utilization is None else 1,
        blocked_sum=0.0 if sample.blocked is None else clamp_share(sample.blocked),
        blocked_count=0 if sample.blocked is None else 1,
        latency_p95_max_ms=sample.latency_p95_ms,
        last_queue_depth=sample.queue_depth,
        time_sum=0.0,
        queue_sum=float(sample.queue_depth),
        time_sq_sum=0.0,
        time_queue_sum=0.0,
        errors=sample.errors,
        dropped=sample.dropped,
        failure_modes=(
            (FailureModeTally(sample.failure_mode, 1, sample.ts),)
            if sample.failure_mode
            else ()
        ),
        queue_sq_sum=float(sample.queue_depth) ** 2,
    )


def rollup_samples(samples: Sequence[StageSample]) -> StageRollup:
    """The rollup of some samples of one stage, in one pass.

    Equal (up to float rounding) to folding ``add_sample`` over them, without
    building a rollup per sample: this runs for every stored sample.
    """
    if not samples:
        raise ValueError("a rollup needs at least one sample")
    stage = samples[0].stage
    if any(sample.stage != stage for sample in samples):
        raise ValueError("a rollup covers one stage")
    origin = min(sample.ts for sample in samples)
    last = max(samples, key=lambda sample: (sample.ts, sample.queue_depth))
    shares = [clamp_share(s.utilization) for s in samples if s.utilization is not None]
    blocked = [clamp_share(s.blocked) for s in samples if s.blocked is not None]
    times = [(sample.ts - origin).total_seconds() for sample in samples]
    tallies: dict[str, FailureModeTally] = {}
    for sample in samples:
        if sample.failure_mode:
            seen = tallies.get(sample.failure_mode)
            tallies[sample.failure_mode] = FailureModeTally(
                sample.failure_mode,
                1 if seen is None else seen.count + 1,
                sample.ts if seen is None else max(seen.last_seen, sample.ts),
            )
    return StageRollup(
        stage=stage,
        first_ts=origin,
        last_ts=last.ts,
        count=len(samples),
        capacity_sum=sum(sample.capacity for sample in samples),
        throughput_sum=sum(sample.throughput for sample in samples),
        utilization_sum=sum(shares),
        utilization_count=len(shares),
        blocked_sum=sum(blocked),
        blocked_count=len(blocked),
        latency_p95_max_ms=max(sample.latency_p95_ms for sample in samples),
        last_queue_depth=last.queue_depth,
        time_sum=sum(times),
        queue_sum=float(sum(sample.queue_depth for sample in samples)),
        time_sq_sum=sum(t * t for t in times),
        time_queue_sum=sum(
            t * s.queue_depth for t, s in zip(times, samples, strict=True)
        ),
        errors=sum(sample.errors for sample in samples),
        dropped=sum(sample.dropped for sample in samples),
        failure_modes=tuple(sorted(tallies.values(), key=lambda tally: tally.mode)),
        queue_sq_sum=float(sum(sample.queue_depth**2 for sample in samples)),
    )


def add_sample(rollup: StageRollup | None, sample: StageSample) -> StageRollup:
    if rollup is None:
        return rollup_sample(sample)
    return merge_rollups(rollup, rollup_sample(sample))


def merge_rollups(first: StageRollup, second: StageRollup) -> StageRollup:
    """Combine two rollups of the same stage.

    Commutative exactly; associative up to float rounding of the sums.
    """
    return merge_all((first, second))


def merge_all(rollups: Sequence[StageRollup]) -> StageRollup:
    """Combine rollups of one stage in one pass.

    Equal (up to float rounding) to merging them two at a time, in any order,
    without building a rollup per step: each minute's findings merge a window
    of rollups per stage.
    """
    if not rollups:
        raise ValueError("merging needs at least one rollup")
    stage = rollups[0].stage
    for rollup in rollups:
        if rollup.stage != stage:
            raise ValueError(f"cannot merge {stage!r} with {rollup.stage!r}")
    origin = min(rollup.first_ts for rollup in rollups)
    last_ts = max(rollup.last_ts for rollup in rollups)
    # One loop with running totals: a window of five rollups per stage and
    # minute is merged thousands of times in a replay, and a generator per
    # field cost twice as much.
    count = utilization_count = blocked_count = errors = dropped = 0
    capacity_sum = throughput_sum = utilization_sum = blocked_sum = queue_sum = 0.0
    queue_sq_sum = 0.0
    time_sum = time_sq_sum = time_queue_sum = 0.0
    latency_p95_max_ms = rollups[0].latency_p95_max_ms
    # Several rollups may end at the same time: the deepest queue is the last.
    last_queue_depth = 0
    for rollup in rollups:
        count += rollup.count
        capacity_sum += rollup.capacity_sum
        throughput_sum += rollup.throughput_sum
        utilization_sum += rollup.utilization_sum
        utilization_count += rollup.utilization_count
        blocked_sum += rollup.blocked_sum
        blocked_count += rollup.blocked_count
        queue_sum += rollup.queue_sum
        queue_sq_sum += rollup.queue_sq_sum
        errors += rollup.errors
        dropped += rollup.dropped
        latency_p95_max_ms = max(latency_p95_max_ms, rollup.latency_p95_max_ms)
        if rollup.last_ts == last_ts:
            last_queue_depth = max(last_queue_depth, rollup.last_queue_depth)
        time, time_sq, time_queue = _time_sums_since(rollup, origin)
        time_sum += time
        time_sq_sum += time_sq
        time_queue_sum += time_queue
    return StageRollup(
        stage=stage,
        first_ts=origin,
        last_ts=last_ts,
        count=count,
        capacity_sum=capacity_sum,
        throughput_sum=throughput_sum,
        utilization_sum=utilization_sum,
        utilization_count=utilization_count,
        blocked_sum=blocked_sum,
        blocked_count=blocked_count,
        latency_p95_max_ms=latency_p95_max_ms,
        last_queue_depth=last_queue_depth,
        time_sum=time_sum,
        queue_sum=queue_sum,
        time_sq_sum=time_sq_sum,
        time_queue_sum=time_queue_sum,
        errors=errors,
        dropped=dropped,
        failure_modes=_merge_tallies(rollup.failure_modes for rollup in rollups),
        queue_sq_sum=queue_sq_sum,
    )


def _time_sums_since(
    rollup: StageRollup, origin: datetime
) -> tuple[float, float, float]:
    """Σt, Σt² and Σtq re-expressed with t measured from ``origin``."""
    offset = (rollup.first_ts - origin).total_seconds()
    return (
        rollup.time_sum + rollup.count * offset,
        rollup.time_sq_sum + 2 * offset * rollup.time_sum + rollup.count * offset**2,
        rollup.time_queue_sum + offset * rollup.queue_sum,
    )


def _merge_tallies(
    tallies_per_rollup: Iterable[tuple[FailureModeTally, ...]],
) -> tuple[FailureModeTally, ...]:
    merged: dict[str, FailureModeTally] = {}
    for tallies in tallies_per_rollup:
        for tally in tallies:
            seen = merged.get(tally.mode)
            merged[tally.mode] = (
                tally
                if seen is None
                else FailureModeTally(
                    tally.mode,
                    seen.count + tally.count,
                    max(seen.last_seen, tally.last_seen),
                )
            )
    return tuple(sorted(merged.values(), key=lambda tally: tally.mode))


def ledger_row_from_rollups(stage: str, rollups: Iterable[StageRollup]) -> LedgerRow:
    """The ledger row of ``stage`` from rollups of its samples in the window.

    Equals the row from the raw samples (up to float rounding) except for
    ``latency_p95_ms``: raw per-sample p95 values are gone, so this reports their
    maximum, an upper bound on the raw nearest-rank p95. Rollups that straddle the
    window edge count whole; pick buckets that lie inside the window.
    """
    rollups = list(rollups)
    if not rollups:
        return LedgerRow(stage)
    merged = merge_all(rollups)
    if merged.stage != stage:
        raise ValueError(f"rollups of {merged.stage!r} given for {stage!r}")
    count = merged.count
    capacity = merged.capacity_sum / count
    load = merged.throughput_sum / count
    mean_blocked = (
        merged.blocked_sum / merged.blocked_count if merged.blocked_count else None
    )
    trend, noise = queue_line(
        QueueSums(
            count=count,
            time_sum=merged.time_sum,
            queue_sum=merged.queue_sum,
            time_sq_sum=merged.time_sq_sum,
            time_queue_sum=merged.time_queue_sum,
            queue_sq_sum=merged.queue_sq_sum,
            span_s=(merged.last_ts - merged.first_ts).total_seconds(),
        )
    )
    return LedgerRow(
        stage=stage,
        samples=count,
        capacity=capacity,
        load=load,
        utilization=derive_utilization(
            merged.utilization_sum / merged.utilization_count
            if merged.utilization_count
            else None,
            load,
            capacity,
            merged.last_queue_depth,
            mean_blocked,
        ),
        blocked=mean_blocked,
        latency_p95_ms=merged.latency_p95_max_ms,
        queue_depth=merged.last_queue_depth,
        queue_trend=trend,
        failure_mode=dominant_failure_mode(merged.failure_modes),
        errors=merged.errors,
        dropped=merged.dropped,
        queue_trend_noise=noise,
        first_sample_at=merged.first_ts,
        last_sample_at=merged.last_ts,
    )


def ledger_from_rollups(
    rollups: Iterable[StageRollup], stage_order: Sequence[str]
) -> list[LedgerRow]:
    """Rows in ``stage_order`` from rollups of any stages, in any order."""
    require_unique(stage_order, "stage_order")
    by_stage: dict[str, list[StageRollup]] = {stage: [] for stage in stage_order}
    for rollup in rollups:
        if rollup.stage in by_stage:
            by_stage[rollup.stage].append(rollup)
    return [ledger_row_from_rollups(stage, by_stage[stage]) for stage in stage_order]
