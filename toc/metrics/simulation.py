"""A small discrete-time model of a pipeline, producing samples in the ingest shape.

Each stage is a fluid queue: records arrive, the stage works off up to its
capacity per second, and what it cannot finish waits. Records flow: what
reaches a stage is what the stage before it emitted, scaled by the ratio of
their shares (a cascade's exits, a fan-out), so downstream of a saturated
stage only what it lets through arrives, and no stage ever emits more than
it received. It is enough to show a constraint forming, holding and moving,
without a real pipeline. No Django here, so the demo loader and the
simulate_pipeline command can share it and it can be tested on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MS_PER_SECOND = 1000.0
# The smallest rate above zero that ingest accepts (toc.metrics.ingest).
SMALLEST_RATE = 1e-9
# Service time doubles between an idle and a fully busy stage; queueing time
# is added on top, from the queue in seconds of work.
BUSY_LATENCY_GROWTH = 0.5


@dataclass(frozen=True, slots=True)
class StageSpec:
    """``share`` is the stage's arrival rate as a fraction of the input rate when
    nothing upstream holds records back; above 1 where a stage handles some
    records more than once. ``latency_ms`` is the p95 latency of an idle stage."""

    slug: str
    capacity: float
    share: float
    latency_ms: float = 10.0
    failure_mode: str = ""

    def __post_init__(self) -> None:
        _require_finite(f"{self.slug} capacity", self.capacity, positive=True)
        _require_finite(f"{self.slug} share", self.share)
        _require_finite(f"{self.slug} latency_ms", self.latency_ms)


@dataclass(frozen=True, slots=True)
class CapacityChange:
    """From ``at_s`` seconds after the start on, ``stage``'s capacity is multiplied
    by ``factor``; changes to one stage compound."""

    at_s: float
    stage: str
    factor: float

    def __post_init__(self) -> None:
        _require_finite("at_s", self.at_s)
        _require_finite(f"{self.stage} factor", self.factor, positive=True)


@dataclass(frozen=True, slots=True)
class ShareChange:
    """From ``at_s`` seconds after the start on, ``stage``'s share is multiplied by
    ``factor`` (a cascade sending fewer records to it, more coverage sending
    more); changes to one stage compound."""

    at_s: float
    stage: str
    factor: float

    def __post_init__(self) -> None:
        _require_finite("at_s", self.at_s)
        _require_finite(f"{self.stage} share factor", self.factor)


Change = CapacityChange | ShareChange


def _require_finite(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "above 0" if positive else "0 or more"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")


class Simulation:
    """A pipeline simulated from ``start`` on, a run of ticks at a time; each run
    carries on from where the last left off (queues, changes, the clock), at its
    own interval, so that old history can be coarser than the last hour.

    The input is ``input_rate`` x ``demand(seconds since start)`` (1 without
    one: a daily rhythm, say), varying by up to ``jitter`` (a share) either side
    per tick. The same arguments give the same samples.
    """

    def __init__(
        self,
        stages: Sequence[StageSpec],
        input_rate: float,
        start: datetime,
        changes: Sequence[Change] = (),
        seed: int = 0,
        jitter: float = 0.03,
        demand: Callable[[float], float] | None = None,
    ) -> None:
        _require_finite("input_rate", input_rate)
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be a share in [0, 1), not {jitter!r}")
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        slugs = [stage.slug for stage in stages]
        if len(set(slugs)) != len(slugs):
            raise ValueError("stage slugs must be unique")
        unknown = sorted({change.stage for change in changes} - set(slugs))
        if unknown:
            raise ValueError(f"changes name unknown stages: {', '.join(unknown)}")
        self.stages = tuple(stages)
        self.input_rate = input_rate
        self.start = start.astimezone(UTC)
        self.jitter = jitter
        self.demand = demand
        self.elapsed_s = 0.0
        self._rng = random.Random(seed)
        self._index = {slug: index for index, slug in enumerate(slugs)}
        self._changes = sorted(changes, key=lambda change: change.at_s)
        self._applied = 0
        self._capacities = [stage.capacity for stage in stages]
        self._shares = [stage.share for stage in stages]
        self._queues = [0.0] * len(stages)

    def run(self, duration_s: float, interval_s: float = 10) -> Iterator[list[dict]]:
        """Yields, per tick of ``interval_s`` seconds, one sample per stage in the
        ingest API's shape; the queue depth reported is the one left at the end
        of the tick."""
        _require_finite("duration_s", duration_s)
        _require_finite("interval_s", interval_s, positive=True)
        for _ in range(int(duration_s // interval_s)):
            yield self._tick(interval_s)

    def _tick(self, interval_s: float) -> list[dict]:
        elapsed = self.elapsed_s
        changes = self._changes
        while self._applied < len(changes) and changes[self._applied].at_s <= elapsed:
            change = changes[self._applied]
            index = self._index[change.stage]
            if isinstance(change, CapacityChange):
                self._capacities[index] *= change.factor
            else:
                self._shares[index] *= change.factor
            self._applied += 1
        demand = 1.0 if self.demand is None else self.demand(elapsed)
        _require_finite("demand", demand)
        jitter = self.jitter
        inflow = self.input_rate * demand * (1 + self._rng.uniform(-jitter, jitter))
        ts = (self.start + timedelta(seconds=elapsed)).isoformat()
        samples = []
        shares, queues = self._shares, self._queues
        emitted = inflow
        for index, stage in enumerate(self.stages):
            # What the stage before emitted, in the ratio of their shares; the
            # first stage, or one after a stage that sees nothing, is fed by
            # the input.
            upstream = shares[index - 1] if index else 0.0
            if upstream > 0:
                arrivals = emitted * shares[index] / upstream
            else:
                arrivals = inflow * shares[index]
            capacity = self._capacities[index]
            queued = queues[index]
            throughput = min(capacity, arrivals + queued / interval_s)
            queues[index] = max(0.0, queued + (arrivals - throughput) * interval_s)
            samples.append(_sample(stage, ts, capacity, throughput, queues[index]))
            emitted = throughput
        self.elapsed_s = elapsed + interval_s
        return samples


def simulate(
    stages: Sequence[StageSpec],
    input_rate: float,
    start: datetime,
    duration_s: float,
    interval_s: float = 10,
    changes: Sequence[Change] = (),
    seed: int = 0,
    jitter: float = 0.03,
    demand: Callable[[float], float] | None = None,
) -> Iterator[list[dict]]:
    """Yields, per tick of ``interval_s`` seconds from ``start``, one sample per
    stage in the ingest API's shape (see Simulation)."""
    simulation = Simulation(
        stages, input_rate, start, changes, seed=seed, jitter=jitter, demand=demand
    )
    return simulation.run(duration_s, interval_s)


def _sample(
    stage: StageSpec, ts: str, capacity: float, throughput: float, queue: float
) -> dict:
    utilization = min(1.0, max(0.0, throughput / capacity))
    service_ms = stage.latency_ms * (1 + BUSY_LATENCY_GROWTH * utilization)
    waiting_ms = queue / capacity * MS_PER_SECOND
    sample = {
        "stage": stage.slug,
        "ts": ts,
        "throughput": _significant(throughput),
        "capacity": _significant(capacity),
        "utilization": round(utilization, 4),
        "latency_p95_ms": _significant(service_ms + waiting_ms),
        "queue_depth": round(queue),
    }
    if stage.failure_mode:
        sample["failure_mode"] = stage.failure_mode
    return sample


def _significant(value: float) -> float:
    # Digits that mean something, for rates of records and of people alike
    # (analysts get through a few thousandths of an alert a second); below
    # what ingest takes as a rate, nothing.
    return float(f"{value:.6g}") if value >= SMALLEST_RATE else 0.0


DEMO_INPUT_RATE = 60_000.0
# The method article's ledger at 60K flows/s. Base latencies are set so that each
# stage's service time at its usual utilization is the article's p95 (Feature-Tier2
# adds its queue on top). Feature-Tier1 runs at 65% of 100K, so it handles more
# records than arrive (share above 1). Feature-Tier2 gets 101% of its capacity:
# busy all the time, its queue growing by ~300 rec/s, a drift the 3% arrival
# jitter cannot hide.
DEMO_PIPELINE = (
    StageSpec("ingest", 100_000, 1.0, 1.5, "burst loss"),
    StageSpec("feature-tier1", 100_000, 65 / 60, 3.8, "cache miss"),
    StageSpec("feature-tier2", 30_000, 0.505, 34.0, "window skew"),
    StageSpec("feature-tier3", 10_000, 2 / 60, 182.0, "cold start"),
    StageSpec("inference", 50_000, 1 / 3, 8.3, "batch sizing"),
    StageSpec("alerting", 1_000, 0.1 / 60, 95.0, "dedup thrash"),
)


def demo_history(
    start: datetime, duration_s: float = 3600, interval_s: float = 10
) -> list[dict]:
    """The demo system's samples from ``start`` on: Feature-Tier2 saturated, its
    queue growing, every other stage well below saturation."""
    return [
        sample
        for tick in simulate(
            DEMO_PIPELINE, DEMO_INPUT_RATE, start, duration_s, interval_s
        )
        for sample in tick
    ]
