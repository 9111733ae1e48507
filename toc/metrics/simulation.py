"""A small discrete-time model of a pipeline, producing samples in the ingest shape.

Each stage is a fluid queue: records arrive at a share of the input rate, the
stage works off up to its capacity per second, and what it cannot finish waits.
It is enough to show a constraint forming, holding and moving, without a real
pipeline. No Django here, so the demo loader and the simulate_pipeline command
can share it and it can be tested on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MS_PER_SECOND = 1000.0
# Service time doubles between an idle and a fully busy stage; queueing time
# is added on top, from the queue in seconds of work.
BUSY_LATENCY_GROWTH = 0.5


@dataclass(frozen=True, slots=True)
class StageSpec:
    """``share`` is the stage's arrival rate as a fraction of the input rate; above
    1 where a stage handles some records more than once. ``latency_ms`` is the
    p95 latency of an idle stage."""

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


def _require_finite(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "above 0" if positive else "0 or more"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")


def simulate(
    stages: Sequence[StageSpec],
    input_rate: float,
    start: datetime,
    duration_s: float,
    interval_s: float = 10,
    changes: Sequence[CapacityChange] = (),
    seed: int = 0,
    jitter: float = 0.03,
) -> Iterator[list[dict]]:
    """Yields, per tick of ``interval_s`` seconds from ``start``, one sample per
    stage in the ingest API's shape. The same arguments give the same samples.

    Arrivals at a stage vary by up to ``jitter`` (a share) either side of input
    rate x share, independently per stage and tick. The queue depth reported is
    the one left at the end of the tick.
    """
    _require_finite("input_rate", input_rate)
    _require_finite("duration_s", duration_s)
    _require_finite("interval_s", interval_s, positive=True)
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be a share in [0, 1), not {jitter!r}")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    slugs = [stage.slug for stage in stages]
    if len(set(slugs)) != len(slugs):
        raise ValueError("stage slugs must be unique")
    unknown = sorted({change.stage for change in changes} - set(slugs))
    if unknown:
        raise ValueError(f"capacity changes name unknown stages: {', '.join(unknown)}")

    rng = random.Random(seed)
    start = start.astimezone(UTC)
    queues = dict.fromkeys(slugs, 0.0)
    for tick in range(int(duration_s // interval_s)):
        elapsed = tick * interval_s
        ts = (start + timedelta(seconds=elapsed)).isoformat()
        samples = []
        for stage in stages:
            capacity = stage.capacity * math.prod(
                change.factor
                for change in changes
                if change.stage == stage.slug and elapsed >= change.at_s
            )
            arrivals = input_rate * stage.share * (1 + rng.uniform(-jitter, jitter))
            queued = queues[stage.slug]
            throughput = min(capacity, arrivals + queued / interval_s)
            queues[stage.slug] = max(0.0, queued + (arrivals - capacity) * interval_s)
            samples.append(_sample(stage, ts, capacity, throughput, queues[stage.slug]))
        yield samples


def _sample(
    stage: StageSpec, ts: str, capacity: float, throughput: float, queue: float
) -> dict:
    utilization = min(1.0, max(0.0, throughput / capacity))
    service_ms = stage.latency_ms * (1 + BUSY_LATENCY_GROWTH * utilization)
    waiting_ms = queue / capacity * MS_PER_SECOND
    sample = {
        "stage": stage.slug,
        "ts": ts,
        "throughput": round(throughput, 3),
        "capacity": round(capacity, 3),
        "utilization": round(utilization, 4),
        "latency_p95_ms": round(service_ms + waiting_ms, 3),
        "queue_depth": round(queue),
    }
    if stage.failure_mode:
        sample["failure_mode"] = stage.failure_mode
    return sample


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
