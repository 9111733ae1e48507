from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toc.demo.simulation import (
    CapacityChange,
    ShareChange,
    Simulation,
    StageSpec,
    simulate,
)
from toc.metrics.ingest import parse_batch, validate_batch

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# No example database: the tests leave nothing behind in the checkout.
PROPERTY = settings(max_examples=60, deadline=None, database=None)
PIPELINE = (
    StageSpec("light", capacity=2000, share=1.0),
    StageSpec("heavy", capacity=400, share=0.5),
    StageSpec("tail", capacity=100, share=0.05, latency_ms=40, failure_mode="timeout"),
)


def run(stages=PIPELINE, rate: float = 1000, duration_s: float = 600, **kwargs):
    return list(simulate(stages, rate, START, duration_s, **kwargs))


def series(ticks: list[list[dict]], stage: str, field: str) -> list:
    return [
        sample[field] for tick in ticks for sample in tick if sample["stage"] == stage
    ]


def test_same_seed_gives_the_same_samples() -> None:
    assert run(seed=7) == run(seed=7)


def test_different_seeds_give_different_arrivals() -> None:
    assert series(run(seed=1), "light", "throughput") != series(
        run(seed=2), "light", "throughput"
    )


def test_one_sample_per_stage_per_tick_in_pipeline_order() -> None:
    ticks = run(duration_s=60, interval_s=10)

    assert len(ticks) == 6
    assert all(
        [s["stage"] for s in tick] == ["light", "heavy", "tail"] for tick in ticks
    )
    assert [tick[0]["ts"] for tick in ticks[:2]] == [
        "2026-11-01T12:00:00+00:00",
        "2026-11-01T12:00:10+00:00",
    ]


def test_queue_grows_where_arrivals_exceed_capacity() -> None:
    # 500 rec/s reach a stage that finishes 400: 100 rec/s pile up, 1000 a tick.
    depths = series(run(jitter=0), "heavy", "queue_depth")

    assert depths[:3] == [1000, 2000, 3000]
    assert depths == sorted(depths)
    assert series(run(jitter=0), "heavy", "utilization") == [1.0] * len(depths)


def test_queue_stays_empty_where_capacity_covers_arrivals_and_jitter() -> None:
    ticks = run()

    assert set(series(ticks, "light", "queue_depth")) == {0}
    assert set(series(ticks, "tail", "queue_depth")) == {0}


def test_downstream_of_a_saturated_stage_only_what_it_lets_through_arrives() -> None:
    # 500 rec/s reach "heavy", which does 400; "tail" gets a tenth of what
    # "heavy" emits (its share 0.05 to heavy's 0.5): 40 rec/s, not 50.
    ticks = run(jitter=0)

    assert set(series(ticks, "heavy", "throughput")) == {400}
    assert set(series(ticks, "tail", "throughput")) == {40}
    assert set(series(ticks, "tail", "utilization")) == {0.4}


def test_a_backlog_worked_off_reaches_the_next_stage() -> None:
    # Tripled at 300 s, "heavy" works its backlog off at 1200 rec/s: "tail" gets
    # 120 rec/s, more than its 100, and queues the rest in its turn.
    ticks = run(jitter=0, changes=[CapacityChange(at_s=300, stage="heavy", factor=3)])

    assert series(ticks, "tail", "throughput")[30] == 100
    assert series(ticks, "tail", "queue_depth")[30] == 200


def test_the_input_follows_the_demand_and_shares_change_when_told() -> None:
    ticks = run(
        jitter=0,
        duration_s=200,
        demand=lambda elapsed_s: 0.5 if elapsed_s < 100 else 1.0,
        changes=[ShareChange(at_s=100, stage="light", factor=1.5)],
    )
    light = series(ticks, "light", "throughput")

    assert light[:10] == [500] * 10
    assert light[10:] == [1500] * 10


def test_a_simulation_carries_on_at_another_interval() -> None:
    simulation = Simulation(PIPELINE, 1000, START, jitter=0)
    coarse = list(simulation.run(600, interval_s=60))
    fine = list(simulation.run(60, interval_s=10))

    assert [tick[0]["ts"] for tick in coarse[-1:] + fine[:2]] == [
        "2026-11-01T12:09:00+00:00",
        "2026-11-01T12:10:00+00:00",
        "2026-11-01T12:10:10+00:00",
    ]
    # The backlog of "heavy" grows by 100 rec/s whatever the interval.
    assert series(coarse, "heavy", "queue_depth")[-1] == 60_000
    assert series(fine, "heavy", "queue_depth")[:2] == [61_000, 62_000]


def test_queued_work_adds_to_latency() -> None:
    latencies = series(run(jitter=0), "heavy", "latency_p95_ms")

    assert latencies == sorted(latencies)
    # 60 ticks of 1000 records queued = 150 s of work at 400 rec/s.
    assert latencies[-1] > 150_000


def test_capacity_change_drains_the_queue_after_it() -> None:
    ticks = run(changes=[CapacityChange(at_s=300, stage="heavy", factor=3)])
    capacities = series(ticks, "heavy", "capacity")
    depths = series(ticks, "heavy", "queue_depth")

    assert set(capacities[:30]) == {400} and set(capacities[30:]) == {1200}
    assert depths[29] > 25_000
    # About 500 rec/s arrive at 1200 capacity: the backlog shrinks ~7000 a tick.
    drained = depths.index(0, 30)
    assert drained <= 30 + math.ceil(depths[29] / 6000)
    assert depths[29:drained] == sorted(depths[29:drained], reverse=True)
    assert set(depths[drained:]) == {0}
    # The backlog is worked off at full capacity before the stage eases off.
    assert series(ticks, "heavy", "throughput")[30] == 1200


def test_changes_to_one_stage_compound() -> None:
    changes = [
        CapacityChange(at_s=0, stage="tail", factor=2),
        CapacityChange(at_s=100, stage="tail", factor=0.5),
    ]
    capacities = series(run(changes=changes, duration_s=200), "tail", "capacity")

    assert capacities[:10] == [200] * 10
    assert capacities[10:] == [100] * 10


def test_change_to_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stages: nope"):
        run(changes=[CapacityChange(at_s=0, stage="nope", factor=2)])


@pytest.mark.parametrize(
    "make",
    [
        lambda: StageSpec("s", capacity=0, share=1),
        lambda: StageSpec("s", capacity=10, share=-0.1),
        lambda: StageSpec("s", capacity=math.nan, share=1),
        lambda: CapacityChange(at_s=0, stage="s", factor=0),
    ],
    ids=["zero capacity", "negative share", "nan capacity", "zero factor"],
)
def test_impossible_stage_numbers_are_refused(make) -> None:
    with pytest.raises(ValueError, match="must be a finite number"):
        make()


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(simulate(PIPELINE, 10, START.replace(tzinfo=None), 60))


stage_specs = st.builds(
    StageSpec,
    slug=st.just("stage"),
    capacity=st.floats(min_value=1e-3, max_value=1e7),
    share=st.floats(min_value=0, max_value=3),
    latency_ms=st.floats(min_value=0, max_value=1e4),
)


@PROPERTY
@given(
    specs=st.lists(stage_specs, min_size=1, max_size=4),
    rate=st.floats(min_value=0, max_value=1e7),
    factor=st.floats(min_value=1e-3, max_value=1e3),
    at_s=st.floats(min_value=0, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_samples_are_valid_ingest_samples_whatever_the_numbers(
    specs: list[StageSpec], rate: float, factor: float, at_s: float, seed: int
) -> None:
    stages = [
        StageSpec(f"s{index}", spec.capacity, spec.share, spec.latency_ms)
        for index, spec in enumerate(specs)
    ]
    change = CapacityChange(at_s=at_s, stage="s0", factor=factor)
    ticks = run(stages, rate, duration_s=200, changes=[change], seed=seed)
    samples = [sample for tick in ticks for sample in tick]

    for sample in samples:
        for field in ("throughput", "capacity", "utilization", "latency_p95_ms"):
            assert math.isfinite(sample[field]) and sample[field] >= 0
        assert 0 <= sample["utilization"] <= 1
        assert isinstance(sample["queue_depth"], int) and sample["queue_depth"] >= 0
    body = json.dumps({"samples": samples}, allow_nan=False).encode()
    stage_ids = {stage.slug: index for index, stage in enumerate(stages)}
    batch = validate_batch(parse_batch(body), stage_ids, now=START + timedelta(days=1))
    assert batch.sample_count == 20 * len(stages)


def _shares_at(stages, changes, elapsed_s: float) -> list[float]:
    shares = {stage.slug: stage.share for stage in stages}
    for change in changes:
        if isinstance(change, ShareChange) and change.at_s <= elapsed_s:
            shares[change.stage] *= change.factor
    return [shares[stage.slug] for stage in stages]


def assert_no_stage_emits_more_than_reached_it(
    stages, ticks, changes, interval_s: float, most_in: float
) -> None:
    """Up to every tick, what each stage processed is at most what reached it:
    the first stage at most ``most_in`` x its share a second, each next one at
    most what the stage before it emitted, in the ratio of their shares."""
    processed = [0.0] * len(stages)
    reached = [0.0] * len(stages)
    for number, tick in enumerate(ticks):
        shares = _shares_at(stages, changes, number * interval_s)
        for index, sample in enumerate(tick):
            if index and shares[index - 1] > 0:
                ratio = shares[index] / shares[index - 1]
                reached[index] += tick[index - 1]["throughput"] * ratio * interval_s
            else:
                reached[index] += most_in * shares[index] * interval_s
            processed[index] += sample["throughput"] * interval_s
        for index in range(len(stages)):
            # Samples carry six significant digits.
            slack = 1e-5 * reached[index] + 1e-9
            assert processed[index] <= reached[index] + slack, (number, index)


# Rates a sample reports as they are: below ingest's 1e-9 a rate reads 0, and
# what a stage then passes on could not be told from the samples.
readable_stage_specs = st.builds(
    StageSpec,
    slug=st.just("stage"),
    capacity=st.floats(min_value=1e-3, max_value=1e7),
    share=st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=3)),
)


@PROPERTY
@given(
    specs=st.lists(readable_stage_specs, min_size=1, max_size=5),
    rate=st.one_of(st.just(0.0), st.floats(min_value=1, max_value=1e7)),
    factor=st.floats(min_value=1e-3, max_value=1e3),
    share_factor=st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=10)),
    at_s=st.floats(min_value=0, max_value=600),
    jitter=st.floats(min_value=0, max_value=0.5),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_no_stage_ever_emits_more_than_reached_it(
    specs, rate, factor, share_factor, at_s, jitter, seed
) -> None:
    stages = [
        StageSpec(f"s{index}", spec.capacity, spec.share, spec.latency_ms)
        for index, spec in enumerate(specs)
    ]
    changes = [
        CapacityChange(at_s=at_s, stage="s0", factor=factor),
        ShareChange(at_s=at_s / 2, stage=stages[-1].slug, factor=share_factor),
    ]
    ticks = run(stages, rate, duration_s=900, changes=changes, seed=seed, jitter=jitter)

    assert_no_stage_emits_more_than_reached_it(
        stages, ticks, changes, 10, rate * (1 + jitter)
    )
