"""A discrete-event (SimPy) model of a pipeline that reports stage samples.

Test code, independent of the product's fluid simulator (toc/demo/simulation.py):
here records are individual, service times are random, buffers are finite and a
stage that finishes a record while the next buffer is full holds its server blocked
until space frees (blocking after service). Each stage's capacity is known exactly
(servers / mean service time), so the tests know which stage is the constraint
without asking the product.

Every ``interval_s`` of simulated time each stage reports one ``StageSample``:
``throughput`` = records that left the stage per second in the interval, ``capacity``
= servers / mean service time, ``utilization`` = share of server-time occupied
(working or blocked), ``blocked`` = share of server-time blocked, ``latency_p95_ms``
= nearest-rank p95 of the sojourn (buffer entry to leaving the stage) of the records
that left in the interval (0 without any), ``queue_depth`` = records waiting in the
stage's buffer at the sample time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import simpy

from toc.analysis import StageSample

ORIGIN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

Rate = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: ``servers`` in parallel, each taking a random service time of mean
    ``mean_service_s`` (exponential, or lognormal of shape ``sigma``: coefficient of
    variation sqrt(exp(sigma²) - 1)). ``buffer`` is how many records may wait before
    the stage (None: unbounded). ``exit_share`` of the records it finishes leave the
    pipeline after it. ``capacity_steps`` are (time in s, factor): from that time on
    the capacity is ``factor`` times the initial one."""

    name: str
    servers: int
    mean_service_s: float
    service: str = "exponential"
    sigma: float = 1.0
    buffer: int | None = None
    exit_share: float = 0.0
    capacity_steps: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.servers < 1 or self.mean_service_s <= 0:
            raise ValueError(f"{self.name}: servers and mean service must be > 0")
        if self.service not in ("exponential", "lognormal"):
            raise ValueError(f"{self.name}: unknown service {self.service!r}")
        if self.buffer is not None and self.buffer < 1:
            raise ValueError(f"{self.name}: a finite buffer holds at least 1 record")
        if not 0 <= self.exit_share <= 1:
            raise ValueError(f"{self.name}: exit_share is a share (0..1)")

    @classmethod
    def with_capacity(cls, name: str, capacity: float, servers: int = 1, **kw):
        """A stage of ``servers`` whose total capacity is ``capacity`` records/s."""
        return cls(name, servers, servers / capacity, **kw)

    def factor_at(self, t: float) -> float:
        factor = 1.0
        for at_s, step_factor in sorted(self.capacity_steps):
            if t >= at_s:
                factor = step_factor
        return factor

    def capacity_at(self, t: float) -> float:
        return self.servers * self.factor_at(t) / self.mean_service_s


@dataclass(frozen=True, slots=True)
class Burst:
    """``records`` dropped at once into ``stage``'s buffer at ``at_s`` (a replay)."""

    stage: str
    at_s: float
    records: int


def constant(rate: float) -> Rate:
    return lambda t: rate


def ramp(start_rate: float, end_rate: float, from_s: float, to_s: float) -> Rate:
    """``start_rate`` until ``from_s``, then linear to ``end_rate`` at ``to_s``."""

    def rate(t: float) -> float:
        if t <= from_s:
            return start_rate
        if t >= to_s:
            return end_rate
        return start_rate + (end_rate - start_rate) * (t - from_s) / (to_s - from_s)

    return rate


def step(before: float, after: float, at_s: float) -> Rate:
    return lambda t: before if t < at_s else after


@dataclass(slots=True)
class _Record:
    entered: float


@dataclass(slots=True)
class _StageState:
    """Running totals of one stage; the server-time integrals restart every sample."""

    stage: Stage
    store: simpy.Store
    rng: random.Random
    working: int = 0
    blocked: int = 0
    last_change: float = 0.0
    work_time: float = 0.0
    blocked_time: float = 0.0
    departures: int = 0
    dropped: int = 0
    sojourns: list[float] = field(default_factory=list)

    def change(self, now: float, working: int = 0, blocked: int = 0) -> None:
        elapsed = now - self.last_change
        self.work_time += self.working * elapsed
        self.blocked_time += self.blocked * elapsed
        self.last_change = now
        self.working += working
        self.blocked += blocked

    def service_time(self, now: float) -> float:
        mean = self.stage.mean_service_s / self.stage.factor_at(now)
        if self.stage.service == "exponential":
            return self.rng.expovariate(1 / mean)
        sigma = self.stage.sigma
        return self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def sample(
        self, now: float, interval_s: float, origin: datetime, with_utilization: bool
    ) -> StageSample:
        self.change(now)
        server_time = self.stage.servers * interval_s
        occupied = (self.work_time + self.blocked_time) / server_time
        sample = StageSample(
            stage=self.stage.name,
            ts=origin + timedelta(seconds=now),
            throughput=self.departures / interval_s,
            capacity=self.stage.capacity_at(now - interval_s / 2),
            utilization=_share(occupied) if with_utilization else None,
            latency_p95_ms=1000 * _nearest_rank_p95(self.sojourns),
            queue_depth=len(self.store.items),
            dropped=self.dropped,
            blocked=_share(self.blocked_time / server_time),
        )
        self.work_time = self.blocked_time = 0.0
        self.departures = self.dropped = 0
        self.sojourns = []
        return sample


def _share(value: float) -> float:
    # Summed float intervals overshoot 1 by rounding; six decimals are plenty.
    return round(min(1.0, max(0.0, value)), 6)


def _nearest_rank_p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def simulate(
    stages: Sequence[Stage],
    arrivals: Rate,
    duration_s: float,
    *,
    interval_s: float = 10.0,
    seed: int = 0,
    origin: datetime = ORIGIN,
    bursts: Sequence[Burst] = (),
    omit_utilization: Collection[str] = (),
) -> list[StageSample]:
    """Samples of every stage, every ``interval_s`` from ``origin + interval_s`` to
    ``origin + duration_s``, in time order. Arrivals are Poisson at ``arrivals(t)``
    records/s (t in seconds since the start); a record arriving to a full first buffer
    is dropped. Stages named in ``omit_utilization`` report no utilization, so the
    product derives it. The same arguments give the same samples."""
    env = simpy.Environment()
    states = [
        _StageState(
            stage,
            simpy.Store(
                env, capacity=math.inf if stage.buffer is None else stage.buffer
            ),
            random.Random(f"{seed}:{stage.name}"),
        )
        for stage in stages
    ]
    by_name = {state.stage.name: state for state in states}
    for index, state in enumerate(states):
        successor = states[index + 1] if index + 1 < len(states) else None
        for _ in range(state.stage.servers):
            env.process(_server(env, state, successor))
    peak = max(arrivals(t) for t in range(int(duration_s) + 1))
    if peak > 0:
        env.process(_source(env, arrivals, peak, states[0], random.Random(seed)))
    for burst in bursts:
        env.process(_burst(env, by_name[burst.stage], burst))
    samples: list[StageSample] = []
    env.process(
        _sampler(env, states, samples, interval_s, origin, set(omit_utilization))
    )
    env.run(until=duration_s + interval_s / 2)
    return samples


def _source(env, arrivals: Rate, peak: float, first: _StageState, rng):
    # A non-homogeneous Poisson process by thinning a homogeneous one at the peak.
    while True:
        yield env.timeout(rng.expovariate(peak))
        if rng.random() * peak >= arrivals(env.now):
            continue
        if len(first.store.items) < first.store.capacity:
            first.store.put(_Record(env.now))
        else:
            first.dropped += 1


def _burst(env, state: _StageState, burst: Burst):
    yield env.timeout(burst.at_s)
    for _ in range(burst.records):
        yield state.store.put(_Record(env.now))


def _server(env, state: _StageState, successor: _StageState | None):
    stage = state.stage
    while True:
        record = yield state.store.get()
        state.change(env.now, working=1)
        yield env.timeout(state.service_time(env.now))
        state.change(env.now, working=-1)
        leaves = successor is None or (
            stage.exit_share > 0 and state.rng.random() < stage.exit_share
        )
        if not leaves:
            onward = _Record(env.now)
            state.change(env.now, blocked=1)
            yield successor.store.put(onward)
            state.change(env.now, blocked=-1)
            onward.entered = env.now
        state.departures += 1
        state.sojourns.append(env.now - record.entered)


def _sampler(env, states, samples, interval_s, origin, omit):
    while True:
        yield env.timeout(interval_s)
        samples.extend(
            state.sample(env.now, interval_s, origin, state.stage.name not in omit)
            for state in states
        )
