"""Test data builders and hypothesis strategies shared by the analysis tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st

from toc.analysis import LedgerRow, StageSample, ledger_rows

WINDOW_END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# No deadline: the first, import-heavy example would make it flaky. No example
# database: the analysis tests leave nothing behind in the checkout.
PROPERTY = settings(max_examples=50, deadline=None, database=None)
# For tests that draw whole lists of samples, which take longer to generate.
PROPERTY_ON_SAMPLES = settings(PROPERTY, max_examples=40)


def ago(seconds: float) -> datetime:
    return WINDOW_END - timedelta(seconds=seconds)


def sample(
    stage: str = "Stage",
    *,
    seconds_ago: float = 0.0,
    throughput: float = 50.0,
    capacity: float = 100.0,
    utilization: float | None = None,
    latency_p95_ms: float = 10.0,
    queue_depth: int = 0,
    errors: int = 0,
    dropped: int = 0,
    blocked: float | None = None,
    failure_mode: str = "",
) -> StageSample:
    return StageSample(
        stage=stage,
        ts=ago(seconds_ago),
        throughput=throughput,
        capacity=capacity,
        utilization=utilization,
        latency_p95_ms=latency_p95_ms,
        queue_depth=queue_depth,
        errors=errors,
        dropped=dropped,
        blocked=blocked,
        failure_mode=failure_mode,
    )


def row(
    stage: str,
    *,
    utilization: float,
    capacity: float = 1000.0,
    queue_depth: int = 0,
    queue_trend: float = 0.0,
    blocked: float | None = None,
    load: float | None = None,
) -> LedgerRow:
    return LedgerRow(
        stage=stage,
        samples=10,
        capacity=capacity,
        load=utilization * capacity if load is None else load,
        utilization=utilization,
        blocked=blocked,
        latency_p95_ms=10.0,
        queue_depth=queue_depth,
        queue_trend=queue_trend,
    )


# (stage, capacity rec/s, utilization, queue depth now, queue growth rec/s)
ARTICLE_PIPELINE = (
    ("Ingest", 100_000, 0.60, 0, 0),
    ("Feature-Tier1", 100_000, 0.65, 0, 0),
    ("Feature-Tier2", 30_000, 0.95, 1_200, 4),
    ("Feature-Tier3", 10_000, 0.20, 0, 0),
    ("Inference", 50_000, 0.40, 0, 0),
    ("Alerting", 1_000, 0.10, 0, 0),
)


def article_ledger() -> list[LedgerRow]:
    """The method article's network anomaly detection ledger, built from samples
    every 30 s over the 5-minute window (the growing queue reaches 1.2K at the end)."""
    samples = []
    for stage, capacity, utilization, queue_now, growth in ARTICLE_PIPELINE:
        for seconds_ago in range(0, 300, 30):
            samples.append(
                sample(
                    stage,
                    seconds_ago=seconds_ago,
                    throughput=capacity * utilization,
                    capacity=capacity,
                    utilization=utilization,
                    queue_depth=queue_now - growth * seconds_ago,
                )
            )
    return ledger_rows(samples, [stage for stage, *_ in ARTICLE_PIPELINE], WINDOW_END)


shares = st.one_of(
    st.sampled_from([0.0, 0.5, 0.85, 0.9, 1.0]),
    st.floats(min_value=0.0, max_value=1.0),
)
queue_trends = st.one_of(
    st.sampled_from([0.0, 0.05, 4.0, -4.0]),
    st.floats(min_value=-100.0, max_value=100.0),
)


# (has data unless 0, capacity, utilization, blocked, queue depth, queue trend)
stage_measurements = st.tuples(
    st.integers(min_value=0, max_value=5),
    st.just(0.0) | st.floats(min_value=1.0, max_value=1e5),
    shares,
    st.none() | shares,
    st.sampled_from([0, 0, 10, 5_000]),
    queue_trends,
)


def _ledger(measurements: list[tuple[object, ...]]) -> list[LedgerRow]:
    rows = []
    for index, measured in enumerate(measurements):
        has_data, capacity, utilization, blocked, queue_depth, queue_trend = measured
        stage = f"s{index}"
        if not has_data:
            rows.append(LedgerRow(stage))
            continue
        rows.append(
            LedgerRow(
                stage=stage,
                samples=10,
                capacity=capacity,
                load=utilization * capacity,
                utilization=utilization,
                blocked=blocked,
                latency_p95_ms=10.0,
                queue_depth=queue_depth,
                queue_trend=queue_trend,
            )
        )
    return rows


def ledgers(
    min_stages: int = 1, max_stages: int = 6
) -> st.SearchStrategy[list[LedgerRow]]:
    """Ledgers in pipeline order, named s0, s1, ...; one stage in six lacks data."""
    return st.lists(stage_measurements, min_size=min_stages, max_size=max_stages).map(
        _ledger
    )
