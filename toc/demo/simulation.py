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
from dataclasses import dataclass, replace
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


DAY_S = 86_400.0
DEMO_INPUT_RATE = 60_000.0
# The analysts of the demo who investigate alerts: two on duty at any time, 45
# minutes an alert, about 64 alerts a day between them.
DEMO_TRIAGE_PEOPLE = 2
DEMO_TRIAGE_ITEMS_PER_HOUR = 1.33
DEMO_TRIAGE_CAPACITY = DEMO_TRIAGE_PEOPLE * DEMO_TRIAGE_ITEMS_PER_HOUR / 3600
# Before cycle 1, Feature-Tier2 cannot analyse all the traffic: what it is fed is
# sampled down to about 95% of what it can do, and only 30% of the flows get
# its features (the rest is scored without them). The analysts see the alerts
# of what was analysed in full, a third of what they can investigate.
COVERAGE_BEFORE = 0.30
TIER2_LOAD_BEFORE = 0.955
TRIAGE_LOAD_BEFORE = 0.33
# The demo system as cycle 1 found it: the method article's ledger at 60K
# flows/s, and the analysts who investigate what Alerting raises. Base latencies
# are set so that each stage's service time at its usual utilization is the
# article's p95 (Feature-Tier2 adds its queue on top). Feature-Tier1 runs at 65%
# of 100K, so it handles more records than arrive (share above 1).
DEMO_PIPELINE = (
    StageSpec("ingest", 100_000, 1.0, 1.5, "burst loss"),
    StageSpec("feature-tier1", 100_000, 65 / 60, 3.8, "cache miss"),
    StageSpec(
        "feature-tier2",
        30_000,
        TIER2_LOAD_BEFORE * 30_000 / DEMO_INPUT_RATE,
        34.0,
        "window skew",
    ),
    StageSpec("feature-tier3", 10_000, 2 / 60, 182.0, "cold start"),
    StageSpec("inference", 50_000, 1 / 3, 8.3, "batch sizing"),
    StageSpec("alerting", 1_000, 0.1 / 60, 95.0, "dedup thrash"),
    StageSpec(
        "triage",
        DEMO_TRIAGE_CAPACITY,
        TRIAGE_LOAD_BEFORE * DEMO_TRIAGE_CAPACITY / DEMO_INPUT_RATE,
        1_800_000.0,
        "manual correlation",
    ),
)

# The demo's story, in days since its history began (at midnight UTC, some 35
# days ago). Traffic peaks at 15:00 UTC and ebbs at 03:00, 6% either side of
# the mean: at its peaks Feature-Tier2 gets more than it can do and its queue
# grows, at night it works the queue off.
DEMO_HISTORY_DAYS = 35
DEMO_DAILY_SWING = 0.06
DEMO_PEAK_HOUR = 15
STORY_CYCLE_1_OPENED = 1 + 14.5 / 24
# The validation experiment: Feature-Tier2 given three times the compute for a
# day. It analyses three times the flows (90% of them) and the alerts for the
# analysts triple: the system delivers more, so Tier-2 was the constraint; for
# that day the analysts are.
STORY_VALIDATION = (2 + 10 / 24, 3 + 10 / 24)
VALIDATION_FACTOR = 3
STORY_DECIDED = 8 + 11 / 24  # the experiment's go
# Cycle 1's cascade, phase by phase: (rollout phase, the day it starts, the
# share of flows analysed in full, Feature-Tier2's load as a share of its
# capacity at mean traffic). Each phase holds its standard time. Records the
# cascade lets go at Tier-1 need no Tier-2 features, so more of the traffic
# fits in Tier-2 at the same load, until all of it is covered and its load
# falls to 42%. The analysts' alerts grow with the coverage: at full rollout
# they get more than they can investigate, and the constraint moves to them.
STORY_ROLLOUT = (
    ("Shadow", 8.5, COVERAGE_BEFORE, TIER2_LOAD_BEFORE),
    ("Canary 10%", 15.5, 0.33, TIER2_LOAD_BEFORE),
    ("25%", 17.5, 0.38, TIER2_LOAD_BEFORE),
    ("50%", 19.5, 0.53, TIER2_LOAD_BEFORE),
    ("75%", 21.5, 0.86, TIER2_LOAD_BEFORE),
    ("Full", 23.5, 0.98, 0.42),
)
STORY_ROLLOUT_DONE = 30.5
STORY_CYCLE_1_CLOSED = 30.5 + 3 / 24
STORY_CYCLE_2_OPENED = 31 + 10 / 24


# How often the demo's history has a sample of each stage, oldest first:
# (interval, until so many seconds before the end). Every 30 minutes until the
# last day (a point per bucket of the Week chart), every 5 minutes in it (one
# per bucket of the Day chart), every 10 s in the last hour as a live pipeline
# posts. Coarse old history keeps loading the demo quick: processing judges
# each minute that has samples.
DEMO_RESOLUTION = ((1800, 86_400), (300, 3600), (10, 0))


def demo_changes() -> list[Change]:
    """The story's changes to the demo pipeline, in seconds since its start."""
    tier2, triage = "feature-tier2", "triage"
    began, ended = (day * DAY_S for day in STORY_VALIDATION)
    factor = VALIDATION_FACTOR
    changes: list[Change] = [
        CapacityChange(began, tier2, factor),
        ShareChange(began, tier2, factor),
        ShareChange(began, triage, factor),
        CapacityChange(ended, tier2, 1 / factor),
        ShareChange(ended, tier2, 1 / factor),
        ShareChange(ended, triage, 1 / factor),
    ]
    coverage, tier2_load = COVERAGE_BEFORE, TIER2_LOAD_BEFORE
    for _, day, coverage_now, tier2_now in STORY_ROLLOUT:
        changes.append(ShareChange(day * DAY_S, tier2, tier2_now / tier2_load))
        changes.append(ShareChange(day * DAY_S, triage, coverage_now / coverage))
        coverage, tier2_load = coverage_now, tier2_now
    return changes


def with_changes(
    stages: Sequence[StageSpec], changes: Sequence[Change]
) -> tuple[StageSpec, ...]:
    """The stages as they stand once every change has been made."""
    capacity = {stage.slug: stage.capacity for stage in stages}
    share = {stage.slug: stage.share for stage in stages}
    for change in changes:
        values = capacity if isinstance(change, CapacityChange) else share
        values[change.stage] *= change.factor
    return tuple(
        replace(stage, capacity=capacity[stage.slug], share=share[stage.slug])
        for stage in stages
    )


def demo_demand(start: datetime) -> Callable[[float], float]:
    """The daily swing of traffic, for a simulation from ``start``."""
    offset = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)).seconds
    peak = DEMO_PEAK_HOUR * 3600

    def demand(elapsed_s: float) -> float:
        of_day = (offset + elapsed_s - peak) / DAY_S
        return 1 + DEMO_DAILY_SWING * math.cos(2 * math.pi * of_day)

    return demand


def demo_history(start: datetime, end: datetime) -> Iterator[list[dict]]:
    """The demo system's samples from ``start`` (the story's day 0) to ``end``,
    tick by tick, at DEMO_RESOLUTION."""
    simulation = Simulation(
        DEMO_PIPELINE,
        DEMO_INPUT_RATE,
        start,
        demo_changes(),
        demand=demo_demand(start),
    )
    total_s = (end - start).total_seconds()
    for interval_s, before_end_s in DEMO_RESOLUTION:
        duration_s = max(0.0, total_s - before_end_s - simulation.elapsed_s)
        yield from simulation.run(duration_s, interval_s)


# The demo pipeline as it stands at the end of the story, without the daily
# swing: what the simulate_pipeline command posts for the demo's stages.
DEMO_PIPELINE_NOW = with_changes(DEMO_PIPELINE, demo_changes())
