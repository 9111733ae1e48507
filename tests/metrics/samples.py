"""Building sample payloads for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def sample(stage: str, ts: datetime | str, **overrides) -> dict:
    values = {
        "stage": stage,
        "ts": ts if isinstance(ts, str) else ts.isoformat(),
        "throughput": 100.0,
        "capacity": 200.0,
        "latency_p95_ms": 12.5,
        "queue_depth": 0,
    }
    values.update(overrides)
    return values


def steady_pipeline(
    stages: list[str],
    start: datetime,
    minutes: int,
    busy: dict[str, float],
    interval_s: int = 10,
    growing: str | None = None,
) -> list[dict]:
    """Samples every `interval_s` in which each stage runs at its `busy` share,
    and the `growing` stage's queue rises steadily."""
    samples = []
    for tick in range(minutes * 60 // interval_s):
        ts = start + timedelta(seconds=tick * interval_s)
        for stage in stages:
            share = busy.get(stage, 0.3)
            samples.append(
                sample(
                    stage,
                    ts,
                    capacity=1000.0,
                    throughput=1000.0 * share,
                    utilization=share,
                    queue_depth=tick * 50 if stage == growing else 0,
                )
            )
    return samples
