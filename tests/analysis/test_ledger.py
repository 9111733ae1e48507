from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import LedgerRow, StageSample, ledger_rows

from .builders import PROPERTY, PROPERTY_ON_SAMPLES, WINDOW_END, ago, sample


def only_row(samples: list[StageSample]) -> LedgerRow:
    [row] = ledger_rows(samples, ["Stage"], WINDOW_END)
    return row


def test_rows_follow_pipeline_order_and_keep_stages_without_samples() -> None:
    rows = ledger_rows([sample("B"), sample("A")], ["C", "A", "B", "D"], WINDOW_END)

    assert [row.stage for row in rows] == ["C", "A", "B", "D"]
    assert [row.samples for row in rows] == [0, 1, 1, 0]
    silent = rows[0]
    assert not silent.has_data
    assert silent.utilization is None
    assert silent.capacity is None
    assert silent.queue_trend is None
    assert silent.headroom is None


def test_samples_of_stages_outside_the_pipeline_are_ignored() -> None:
    rows = ledger_rows([sample("Retired"), sample("A")], ["A"], WINDOW_END)

    assert [(row.stage, row.samples) for row in rows] == [("A", 1)]


def test_window_excludes_its_start_and_includes_its_end() -> None:
    samples = [
        sample(seconds_ago=300, capacity=1.0),  # exactly at the start: out
        sample(seconds_ago=299.5, capacity=10.0),
        sample(seconds_ago=0, capacity=30.0),  # exactly at the end: in
        sample(seconds_ago=-1, capacity=1.0),  # after the end: out
    ]

    row = only_row(samples)

    assert row.samples == 2
    assert row.capacity == 20.0


def test_window_is_measured_in_sample_time_not_wall_clock() -> None:
    long_ago = datetime(2001, 5, 1, 8, 0, tzinfo=UTC)
    old = StageSample("Stage", long_ago, 5.0, 10.0, None, 1.0, 0)

    [row] = ledger_rows([old], ["Stage"], long_ago, window_s=60)

    assert row.samples == 1


def test_capacity_and_load_are_window_means() -> None:
    row = only_row(
        [
            sample(seconds_ago=60, capacity=100.0, throughput=50.0),
            sample(seconds_ago=0, capacity=200.0, throughput=70.0),
        ]
    )

    assert row.capacity == 150.0
    assert row.load == 60.0


def test_reported_utilization_is_averaged_over_the_samples_that_report_it() -> None:
    # load / capacity would give 0.5; the reported figures win.
    row = only_row(
        [
            sample(seconds_ago=60, utilization=0.8),
            sample(seconds_ago=30, utilization=None),
            sample(seconds_ago=0, utilization=0.6),
        ]
    )

    assert row.utilization == pytest.approx(0.7)


def test_utilization_falls_back_to_load_over_capacity() -> None:
    row = only_row([sample(throughput=60.0, capacity=120.0)])

    assert row.utilization == 0.5


def test_load_above_capacity_counts_as_full_not_over_full() -> None:
    row = only_row([sample(throughput=150.0, capacity=100.0)])

    assert row.utilization == 1.0


def test_reported_utilization_over_full_counts_as_full() -> None:
    row = only_row(
        [
            sample(seconds_ago=30, utilization=1.2),
            sample(seconds_ago=0, utilization=0.8),
        ]
    )

    assert row.utilization == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("throughput", "queue_depth", "expected"),
    [(5.0, 0, 1.0), (0.0, 3, 1.0), (0.0, 0, 0.0)],
    ids=["load", "queue", "nothing"],
)
def test_stage_without_capacity_is_full_as_soon_as_anything_reaches_it(
    throughput: float, queue_depth: int, expected: float
) -> None:
    row = only_row(
        [sample(throughput=throughput, capacity=0.0, queue_depth=queue_depth)]
    )

    assert row.utilization == expected


def test_blocked_share_is_averaged_where_reported() -> None:
    row = only_row(
        [
            sample(seconds_ago=60, blocked=0.2),
            sample(seconds_ago=30),
            sample(seconds_ago=0, blocked=0.4),
        ]
    )

    assert row.blocked == pytest.approx(0.3)


def test_blocked_share_is_none_when_never_reported() -> None:
    assert only_row([sample()]).blocked is None


@pytest.mark.parametrize(
    ("count", "expected"),
    # Nearest rank: the ceil(0.95 n)-th smallest value.
    [(1, 1.0), (10, 10.0), (20, 19.0), (100, 95.0)],
)
def test_latency_p95_uses_the_nearest_rank(count: int, expected: float) -> None:
    latencies = [float(value) for value in range(1, count + 1)]
    random.Random(count).shuffle(latencies)
    samples = [
        sample(seconds_ago=index * 2, latency_p95_ms=latency)
        for index, latency in enumerate(latencies)
    ]

    assert only_row(samples).latency_p95_ms == expected


def test_latest_queue_depth_is_chosen_by_sample_time_not_input_order() -> None:
    row = only_row(
        [
            sample(seconds_ago=10, queue_depth=7),
            sample(seconds_ago=120, queue_depth=99),
        ]
    )

    assert row.queue_depth == 7


def test_samples_sharing_the_latest_time_report_the_deepest_queue() -> None:
    row = only_row(
        [sample(queue_depth=7), sample(queue_depth=9), sample(queue_depth=8)]
    )

    assert row.queue_depth == 9


def test_queue_trend_is_the_slope_of_queue_depth_over_time() -> None:
    # q = 100 + 3t, sampled every 30 s.
    samples = [
        sample(seconds_ago=270 - t, queue_depth=100 + 3 * t) for t in range(0, 300, 30)
    ]

    assert only_row(samples).queue_trend == pytest.approx(3.0)


def test_queue_trend_is_least_squares_not_first_to_last() -> None:
    # First and last are equal but the queue sits higher in the second half.
    samples = [
        sample(seconds_ago=30, queue_depth=0),
        sample(seconds_ago=20, queue_depth=0),
        sample(seconds_ago=10, queue_depth=30),
        sample(seconds_ago=0, queue_depth=0),
    ]

    # t = 0, 10, 20, 30 and q = 0, 0, 30, 0: mean t = 15, mean q = 7.5;
    # sum((t-15)(q-7.5)) = 112.5 + 37.5 + 112.5 - 112.5 = 150, sum((t-15)^2) = 500
    assert only_row(samples).queue_trend == pytest.approx(0.3)


def test_queue_trend_is_zero_with_fewer_than_two_distinct_timestamps() -> None:
    row = only_row([sample(queue_depth=0), sample(queue_depth=500)])

    assert row.queue_trend == 0.0


def test_failure_mode_is_the_most_frequent_non_empty_one() -> None:
    modes = ["", "", "", "oom", "timeout", "oom"]
    row = only_row(
        [
            sample(seconds_ago=index, failure_mode=mode)
            for index, mode in enumerate(modes)
        ]
    )

    assert row.failure_mode == "oom"


@pytest.mark.parametrize("reverse_input", [False, True])
def test_failure_mode_tie_goes_to_the_most_recent(reverse_input: bool) -> None:
    samples = [
        sample(seconds_ago=50, failure_mode="timeout"),
        sample(seconds_ago=40, failure_mode="oom"),
        sample(seconds_ago=30, failure_mode="oom"),
        sample(seconds_ago=20, failure_mode="timeout"),
    ]
    if reverse_input:
        samples.reverse()

    assert only_row(samples).failure_mode == "timeout"


def test_failure_mode_is_empty_when_no_sample_names_one() -> None:
    assert only_row([sample()]).failure_mode == ""


def test_errors_and_dropped_records_are_summed() -> None:
    row = only_row(
        [
            sample(seconds_ago=10, errors=2, dropped=5),
            sample(seconds_ago=0, errors=3, dropped=0),
        ]
    )

    assert (row.errors, row.dropped) == (5, 5)


def test_headroom_is_the_inverse_of_utilization() -> None:
    row = only_row([sample(utilization=0.8)])

    assert row.headroom == pytest.approx(1.25)


def test_idle_stage_has_unbounded_headroom() -> None:
    row = only_row([sample(throughput=0.0, capacity=100.0)])

    assert row.headroom == math.inf


def test_blocked_time_does_not_use_up_headroom() -> None:
    # 90% occupied, but 40% of the time it only waits on its successor.
    row = only_row([sample(utilization=0.9, blocked=0.4)])

    assert row.busy == pytest.approx(0.5)
    assert row.headroom == pytest.approx(2.0)


def test_measured_gives_the_metrics_of_a_row_with_data() -> None:
    row = only_row([sample(utilization=0.9, blocked=0.4, queue_depth=7)])

    measured = row.measured()

    assert measured.capacity == row.capacity
    assert measured.load == row.load
    assert measured.utilization == row.utilization
    assert measured.busy == row.busy
    assert measured.headroom == row.headroom
    assert measured.queue_depth == 7
    assert measured.queue_trend == row.queue_trend


def test_a_row_without_data_has_no_measured_metrics() -> None:
    with pytest.raises(ValueError, match="Stage: the row has no data"):
        LedgerRow("Stage").measured()


def test_naive_timestamps_are_rejected() -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        StageSample("Stage", naive, 1.0, 1.0, None, 1.0, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger_rows([], ["Stage"], naive)


@pytest.mark.parametrize(
    "field", ["throughput", "capacity", "latency_p95_ms", "queue_depth", "errors"]
)
@pytest.mark.parametrize("value", [-1, math.nan, math.inf])
def test_negative_or_non_finite_measurements_are_rejected(
    field: str, value: float
) -> None:
    with pytest.raises(ValueError, match=field):
        sample(**{field: value})


def test_pipeline_listing_a_stage_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="repeat"):
        ledger_rows([], ["A", "B", "A"], WINDOW_END)


def test_row_with_samples_but_missing_metrics_is_rejected() -> None:
    with pytest.raises(ValueError, match="metrics"):
        LedgerRow("Stage", samples=3)


window_samples = st.lists(
    st.builds(
        sample,
        st.sampled_from(["A", "B", "C"]),
        seconds_ago=st.integers(min_value=-30, max_value=330),
        throughput=st.floats(min_value=0, max_value=1e4),
        capacity=st.floats(min_value=0, max_value=1e4),
        utilization=st.none() | st.floats(min_value=0, max_value=1.5),
        queue_depth=st.integers(min_value=0, max_value=10_000),
    ),
    max_size=40,
)


@PROPERTY_ON_SAMPLES
@given(window_samples)
def test_every_row_counts_its_in_window_samples_and_utilization_stays_a_share(
    samples: list[StageSample],
) -> None:
    rows = ledger_rows(samples, ["A", "B", "C"], WINDOW_END)

    for row in rows:
        in_window = [
            s for s in samples if s.stage == row.stage and ago(300) < s.ts <= WINDOW_END
        ]
        assert row.samples == len(in_window)
        if row.has_data:
            assert 0.0 <= row.utilization <= 1.0
            assert row.headroom >= 1.0


@PROPERTY
@given(
    slope=st.integers(min_value=-50, max_value=50),
    offsets=st.lists(
        st.integers(min_value=0, max_value=299), min_size=2, max_size=30, unique=True
    ),
)
def test_a_queue_growing_on_a_straight_line_gives_that_line_slope(
    slope: int, offsets: list[int]
) -> None:
    # Start high enough that a falling queue never goes negative.
    start = 50 * 300
    samples = [
        sample(seconds_ago=299 - t, queue_depth=start + slope * t) for t in offsets
    ]

    assert only_row(samples).queue_trend == pytest.approx(slope, abs=1e-9)


def _queue_row(depths: list[float], every_s: float = 10.0, throughput: float = 100.0):
    samples = [
        sample(
            "A",
            seconds_ago=(len(depths) - 1 - index) * every_s,
            throughput=throughput,
            queue_depth=round(depth),
        )
        for index, depth in enumerate(depths)
    ]
    (row,) = ledger_rows(samples, ["A"], WINDOW_END)
    return row


def test_derived_utilization_counts_blocked_time_as_occupied() -> None:
    # Working 38% of the time and blocked 30% more: 68% occupied, 38% busy.
    samples = [sample(throughput=38.0, capacity=100.0, blocked=0.3)]

    (row,) = ledger_rows(samples, ["Stage"], WINDOW_END)

    assert row.utilization == pytest.approx(0.68)
    assert row.busy == pytest.approx(0.38)


def test_a_steady_climb_grows_and_its_noise_is_zero() -> None:
    row = _queue_row([10.0 * step for step in range(30)])

    assert row.queue_trend == pytest.approx(1.0)
    assert row.queue_trend_noise == pytest.approx(0.0, abs=1e-9)
    assert row.queue_growing
    assert not row.queue_shrinking


def test_one_burst_reading_at_the_edge_of_the_window_is_not_growth() -> None:
    row = _queue_row([0.0] * 29 + [5_000.0])

    assert row.queue_trend > 0
    assert not row.queue_growing


def test_a_queue_that_swings_at_random_around_a_level_is_not_growth() -> None:
    rng = random.Random(7)
    depths = [max(0.0, 40 + rng.gauss(0, 25)) for _ in range(30)]
    # A trickle of throughput, so only the scatter can tell the swing from growth.
    row = _queue_row(depths, throughput=0.01)

    assert abs(row.queue_trend) > 0.005 * row.load
    assert not row.queue_growing
    assert not row.queue_shrinking


def test_growth_too_small_next_to_the_throughput_does_not_count() -> None:
    # 1 record/s more against 1,000 records/s handled: 0.1%.
    slow = _queue_row([10.0 * step for step in range(30)], throughput=1_000.0)
    fast = _queue_row([100.0 * step for step in range(30)], throughput=1_000.0)

    assert not slow.queue_growing
    assert fast.queue_growing


@pytest.mark.parametrize(
    ("depths", "every_s"), [([0.0, 100.0], 10.0), ([0.0, 100.0, 200.0], 20.0)]
)
def test_too_few_readings_or_too_short_a_span_cannot_show_growth(
    depths: list[float], every_s: float
) -> None:
    row = _queue_row(depths, every_s)

    assert row.queue_trend == pytest.approx(100.0 / every_s)
    assert math.isinf(row.queue_trend_noise)
    assert not row.queue_growing


def test_a_row_knows_its_first_and_last_sample_and_posting_interval() -> None:
    row = _queue_row([0.0] * 7, every_s=10.0)

    assert row.first_sample_at == ago(60)
    assert row.last_sample_at == WINDOW_END
    assert row.posting_interval_s == pytest.approx(10.0)
