from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    StageRollup,
    StageSample,
    add_sample,
    ledger_from_rollups,
    ledger_row_from_rollups,
    ledger_rows,
    merge_all,
    merge_rollups,
    rollup_sample,
    rollup_samples,
)

from .builders import PROPERTY_ON_SAMPLES, WINDOW_END, sample

STAGES = ["A", "B", "C"]


def minute_rollups(samples: list[StageSample]) -> list[StageRollup]:
    """What the Django side keeps: one rollup per stage per minute of sample time."""
    buckets: dict[tuple[str, datetime], StageRollup] = {}
    for each in samples:
        key = (each.stage, each.ts.replace(second=0, microsecond=0))
        buckets[key] = add_sample(buckets.get(key), each)
    return list(buckets.values())


def samples_in_window(stages: list[str]) -> st.SearchStrategy[StageSample]:
    return st.builds(
        sample,
        st.sampled_from(stages),
        # Whole seconds inside the window, so minute buckets never straddle its edges.
        seconds_ago=st.integers(min_value=0, max_value=299),
        throughput=st.floats(min_value=0, max_value=1e4),
        capacity=st.sampled_from([0.0, 100.0]) | st.floats(min_value=0, max_value=1e4),
        utilization=st.none() | st.floats(min_value=0, max_value=1.5),
        latency_p95_ms=st.floats(min_value=0, max_value=5e3),
        queue_depth=st.integers(min_value=0, max_value=1_000_000),
        errors=st.integers(min_value=0, max_value=10),
        dropped=st.integers(min_value=0, max_value=10),
        blocked=st.none() | st.floats(min_value=0, max_value=1),
        failure_mode=st.sampled_from(["", "", "oom", "timeout"]),
    )


@PROPERTY_ON_SAMPLES
@given(
    st.lists(samples_in_window(STAGES), max_size=60),
    st.randoms(use_true_random=False),
)
def test_ledger_from_minute_rollups_in_any_order_matches_the_raw_ledger(
    samples: list[StageSample], shuffler: random.Random
) -> None:
    rollups = minute_rollups(samples)
    shuffler.shuffle(rollups)

    raw = ledger_rows(samples, STAGES, WINDOW_END)
    rolled = ledger_from_rollups(rollups, STAGES)

    for expected, actual in zip(raw, rolled, strict=True):
        assert actual.stage == expected.stage
        assert actual.samples == expected.samples
        assert actual.queue_depth == expected.queue_depth
        assert (actual.errors, actual.dropped) == (expected.errors, expected.dropped)
        assert actual.failure_mode == expected.failure_mode
        if not expected.has_data:
            assert actual == expected
            continue
        assert actual.capacity == pytest.approx(expected.capacity)
        assert actual.load == pytest.approx(expected.load)
        assert actual.utilization == pytest.approx(expected.utilization)
        assert actual.blocked == pytest.approx(expected.blocked)
        assert actual.queue_trend == pytest.approx(
            expected.queue_trend, rel=1e-6, abs=1e-6
        )
        # Documented approximation: an upper bound on the raw p95.
        assert actual.latency_p95_ms >= expected.latency_p95_ms


rollups_of_one_stage = st.lists(samples_in_window(["A"]), min_size=1, max_size=5).map(
    lambda samples: reduce(add_sample, samples, None)
)


@PROPERTY_ON_SAMPLES
@given(rollups_of_one_stage, rollups_of_one_stage)
def test_merging_rollups_is_commutative(
    first: StageRollup, second: StageRollup
) -> None:
    assert merge_rollups(first, second) == merge_rollups(second, first)


@PROPERTY_ON_SAMPLES
@given(rollups_of_one_stage, rollups_of_one_stage, rollups_of_one_stage)
def test_merging_rollups_is_associative(
    first: StageRollup, second: StageRollup, third: StageRollup
) -> None:
    left = merge_rollups(merge_rollups(first, second), third)
    right = merge_rollups(first, merge_rollups(second, third))

    assert_equal_up_to_rounding(left, right)


@PROPERTY_ON_SAMPLES
@given(st.lists(rollups_of_one_stage, min_size=1, max_size=6))
def test_merging_all_at_once_equals_merging_two_at_a_time(
    rollups: list[StageRollup],
) -> None:
    assert_equal_up_to_rounding(merge_all(rollups), reduce(merge_rollups, rollups))


def assert_equal_up_to_rounding(left: StageRollup, right: StageRollup) -> None:
    """Equal, but for float sums added in another order."""
    for name in StageRollup.__slots__:
        left_value, right_value = getattr(left, name), getattr(right, name)
        if isinstance(left_value, float):
            assert left_value == pytest.approx(right_value, rel=1e-9, abs=1e-6), name
        else:
            assert left_value == right_value, name


def test_merging_needs_rollups_of_one_stage() -> None:
    with pytest.raises(ValueError, match="at least one"):
        merge_all([])
    with pytest.raises(ValueError, match="cannot merge"):
        merge_all([rollup_sample(sample("A")), rollup_sample(sample("B"))])


def test_adding_a_sample_to_nothing_starts_a_rollup() -> None:
    first = sample("A", utilization=0.5)

    assert add_sample(None, first) == rollup_sample(first)


def test_rollup_latency_is_the_highest_sample_p95() -> None:
    # Raw nearest-rank p95 of 20 values 1..20 is 19; the rollup can only say 20.
    samples = [
        sample("A", seconds_ago=index, latency_p95_ms=float(index + 1))
        for index in range(20)
    ]

    row = ledger_row_from_rollups("A", minute_rollups(samples))

    assert row.latency_p95_ms == 20.0


def test_rollup_trend_stays_precise_with_real_timestamps() -> None:
    # A slow trend on a deep queue: sums of squared epoch seconds would drown it.
    samples = [
        sample("A", seconds_ago=299 - t, queue_depth=1_000_000 + t // 2)
        for t in range(0, 300, 2)
    ]

    row = ledger_row_from_rollups("A", minute_rollups(samples))

    assert row.queue_trend == pytest.approx(0.5, rel=1e-9)


def test_rollups_sharing_the_latest_time_keep_the_deepest_queue() -> None:
    shallow = rollup_sample(sample("A", queue_depth=3))
    deep = rollup_sample(sample("A", queue_depth=8))

    assert merge_rollups(shallow, deep).last_queue_depth == 8
    assert merge_rollups(deep, shallow).last_queue_depth == 8


def test_failure_mode_tie_in_rollups_goes_to_the_most_recent() -> None:
    rollups = [
        rollup_sample(sample("A", seconds_ago=200, failure_mode="oom")),
        rollup_sample(sample("A", seconds_ago=10, failure_mode="timeout")),
    ]

    assert ledger_row_from_rollups("A", rollups).failure_mode == "timeout"


def test_no_rollups_give_a_row_without_data() -> None:
    row = ledger_row_from_rollups("A", [])

    assert not row.has_data
    assert row.stage == "A"


def test_rollups_of_other_stages_are_rejected() -> None:
    with pytest.raises(ValueError, match="'B'"):
        merge_rollups(rollup_sample(sample("A")), rollup_sample(sample("B")))
    with pytest.raises(ValueError, match="'B'"):
        ledger_row_from_rollups("A", [rollup_sample(sample("B"))])


def test_ledger_from_rollups_keeps_pipeline_order_and_ignores_unknown_stages() -> None:
    rollups = [rollup_sample(sample("Z")), rollup_sample(sample("B"))]

    rows = ledger_from_rollups(rollups, ["A", "B"])

    assert [(row.stage, row.samples) for row in rows] == [("A", 0), ("B", 1)]


def test_merge_keeps_time_sums_relative_to_the_earliest_sample() -> None:
    early = datetime(2025, 3, 1, 11, 58, tzinfo=UTC)
    first = rollup_sample(StageSample("A", early, 1.0, 1.0, None, 1.0, queue_depth=10))
    second = rollup_sample(
        StageSample("A", early + timedelta(seconds=60), 1.0, 1.0, None, 1.0, 40)
    )

    merged = merge_rollups(second, first)

    # t = 0 and 60 s, q = 10 and 40.
    assert merged.first_ts == early
    assert (merged.time_sum, merged.time_sq_sum) == (60.0, 3600.0)
    assert (merged.queue_sum, merged.time_queue_sum) == (50.0, 2400.0)


@PROPERTY_ON_SAMPLES
@given(st.lists(samples_in_window(["A"]), min_size=1, max_size=40))
def test_one_pass_rollup_equals_folding_sample_by_sample(
    samples: list[StageSample],
) -> None:
    folded = reduce(add_sample, samples, None)
    direct = rollup_samples(samples)
    exact = ("stage", "first_ts", "last_ts", "count", "utilization_count")
    for field in (*exact, "blocked_count", "last_queue_depth", "errors", "dropped"):
        assert getattr(direct, field) == getattr(folded, field), field
    assert direct.failure_modes == folded.failure_modes
    for field in (
        "capacity_sum",
        "throughput_sum",
        "utilization_sum",
        "blocked_sum",
        "latency_p95_max_ms",
        "time_sum",
        "queue_sum",
        "time_sq_sum",
        "time_queue_sum",
    ):
        assert getattr(direct, field) == pytest.approx(
            getattr(folded, field), rel=1e-9, abs=1e-6
        ), field


def test_one_pass_rollup_refuses_mixed_stages() -> None:
    with pytest.raises(ValueError, match="one stage"):
        rollup_samples([sample("A", seconds_ago=1), sample("B", seconds_ago=2)])
