from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    PeriodComparison,
    PeriodMetric,
    PeriodPoint,
    ValidationResult,
    compare_periods,
    summarize_period,
    system_throughput,
    validation_verdict,
)
from toc.analysis.periods import RISE

from .builders import PROPERTY, WINDOW_END

# The experiment starts at WINDOW_END; "before" is the hour up to it.
START = WINDOW_END


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


def point(
    n: int,
    *,
    load: float = 28_500.0,
    capacity: float = 30_000.0,
    utilization: float | None = 0.95,
    queue_depth: int = 0,
    latency_p95_ms: float = 50.0,
) -> PeriodPoint:
    return PeriodPoint(
        t=minute(n),
        load=load,
        capacity=capacity,
        utilization=utilization,
        queue_depth=queue_depth,
        latency_p95_ms=latency_p95_ms,
    )


def article_before() -> list[PeriodPoint]:
    """Feature-Tier2 before the test: 95% busy, queue growing 4 records/s."""
    return [point(n, queue_depth=240 * (n + 60)) for n in range(-60, 0)]


def article_during() -> list[PeriodPoint]:
    """With 3x compute (90K records/s) the stage keeps up and works off its queue.

    It now processes the traffic it used to shed (a third more than before) and the
    queue drains by 10 records/s."""
    return [
        point(
            n,
            load=38_000,
            capacity=90_000,
            utilization=0.42,
            queue_depth=max(0, 14_400 - 600 * n),
            latency_p95_ms=15.0 if n < 5 else 8.0,
        )
        for n in range(60)
    ]


def test_a_period_reports_means_the_worst_minute_and_the_last_queue() -> None:
    summary = summarize_period(
        [
            point(0, load=100, capacity=200, latency_p95_ms=40, queue_depth=10),
            point(1, load=300, capacity=400, latency_p95_ms=90, queue_depth=30),
            point(2, load=200, capacity=300, latency_p95_ms=60, queue_depth=20),
        ]
    )

    assert summary.points == 3
    assert summary.throughput == 200
    assert summary.capacity == 300
    assert summary.max_latency_p95_ms == 90
    assert summary.queue_depth == 20
    # Least squares through 10, 30, 20 one minute apart: 5 records a minute.
    assert summary.queue_trend == pytest.approx(5 / 60)


def test_the_queue_trend_is_in_records_per_second() -> None:
    summary = summarize_period(article_before())

    assert summary.queue_trend == pytest.approx(4.0)
    assert summary.queue_depth == 240 * 59


def test_utilization_is_the_reported_mean_else_load_over_capacity() -> None:
    reported = summarize_period([point(0, utilization=0.9), point(1, utilization=0.5)])
    derived = summarize_period(
        [
            point(0, load=50, capacity=200, utilization=None),
            point(1, load=150, capacity=200, utilization=None),
        ]
    )

    assert reported.utilization == pytest.approx(0.7)
    assert derived.utilization == pytest.approx(0.5)


def test_an_empty_period_has_no_metrics() -> None:
    summary = summarize_period([])

    assert summary.points == 0
    assert all(summary.value(metric) is None for metric in PeriodMetric)


def test_tripling_the_real_constraint_shows_in_every_metric() -> None:
    comparison = compare_periods(article_before(), article_during())

    def worded(metric: PeriodMetric) -> str | None:
        return comparison.change(metric).change

    assert worded(PeriodMetric.THROUGHPUT) == "+33.3%"
    assert worded(PeriodMetric.CAPACITY) == "+200%"
    assert worded(PeriodMetric.UTILIZATION) == "−53 pp"
    assert worded(PeriodMetric.MAX_LATENCY_P95_MS) == "3.3× faster"
    assert worded(PeriodMetric.QUEUE_DEPTH) == "−100%"
    assert comparison.during.queue_trend is not None
    assert comparison.during.queue_trend < 0
    assert all(change.improved for change in comparison.changes)


def test_changes_cover_every_metric_in_a_fixed_order() -> None:
    comparison = compare_periods(article_before(), article_during())

    assert [change.metric for change in comparison.changes] == list(PeriodMetric)


def test_less_is_better_for_busyness_and_queues_not_for_work_done() -> None:
    comparison = compare_periods(article_before(), article_during())

    better_lower = {
        change.metric: change.lower_is_better for change in comparison.changes
    }
    assert better_lower == {
        PeriodMetric.THROUGHPUT: False,
        PeriodMetric.CAPACITY: False,
        PeriodMetric.UTILIZATION: True,
        PeriodMetric.MAX_LATENCY_P95_MS: True,
        PeriodMetric.QUEUE_DEPTH: True,
        PeriodMetric.QUEUE_TREND: True,
    }


def test_a_period_without_points_leaves_its_changes_unknown() -> None:
    comparison = compare_periods(article_before(), [])

    assert comparison.during.points == 0
    for change in comparison.changes:
        assert change.during is None
        assert change.change is None
        assert change.improved is None
    assert comparison.change(PeriodMetric.THROUGHPUT).before == pytest.approx(28_500)


def test_the_before_period_must_end_before_the_experiment_starts() -> None:
    with pytest.raises(ValueError, match="before period"):
        compare_periods([point(5)], [point(5), point(6)])


def test_the_system_delivers_what_its_last_stage_processes() -> None:
    alerting = [point(0, load=80), point(1, load=120)]

    assert system_throughput(alerting) == 100
    assert system_throughput([]) is None


def test_a_queue_trend_that_turns_round_is_not_a_percentage() -> None:
    change = compare_periods(article_before(), article_during()).change(
        PeriodMetric.QUEUE_TREND
    )

    # Growing 4 records/s before, draining during: a relative change means nothing.
    assert change.before == pytest.approx(4.0)
    assert change.during is not None and change.during < 0
    assert change.change is not None
    assert change.change.endswith(" records/s")
    assert change.improved is True


def system(before_load: float | None, during_load: float | None) -> PeriodComparison:
    """The last stage (Alerting) for an hour before and an hour during."""

    def hour(start: int, load: float | None) -> list[PeriodPoint]:
        if load is None:
            return []
        return [point(start + n, load=load, capacity=100_000) for n in range(60)]

    return compare_periods(hour(-60, before_load), hour(0, during_load))


def article_stage() -> PeriodComparison:
    return compare_periods(article_before(), article_during())


def test_system_throughput_rising_with_the_suspect_names_it_the_constraint() -> None:
    verdict = validation_verdict(
        "Feature-Tier2", article_stage(), system(28_500, 38_000), "Alerting"
    )

    assert verdict.result is ValidationResult.CONSTRAINT
    assert verdict.sentence == (
        "System throughput rose 33.3% (28.5k → 38k records/s) while Feature-Tier2 "
        "had more capacity: it is the constraint."
    )
    assert (verdict.before, verdict.during) == (28_500, 38_000)


def test_system_throughput_that_does_not_rise_clears_the_suspect() -> None:
    verdict = validation_verdict(
        "Inference", article_stage(), system(28_500, 28_800), "Alerting"
    )

    assert verdict.result is ValidationResult.NOT_CONSTRAINT
    assert verdict.sentence == (
        "System throughput did not rise (+1.05%, 28.5k → 28.8k records/s) while "
        "Inference had more capacity: Inference is not the constraint."
    )


def test_a_fall_in_system_throughput_is_no_rise() -> None:
    verdict = validation_verdict(
        "Inference", article_stage(), system(28_500, 25_650), "Alerting"
    )

    assert verdict.result is ValidationResult.NOT_CONSTRAINT
    assert "did not rise (−10%, 28.5k → 25.6k records/s)" in verdict.sentence


@pytest.mark.parametrize(
    ("during", "result"),
    [
        (1_040, ValidationResult.NOT_CONSTRAINT),
        (1_050, ValidationResult.NOT_CONSTRAINT),
        (1_060, ValidationResult.CONSTRAINT),
    ],
)
def test_a_rise_counts_only_beyond_the_measurement_noise(
    during: float, result: ValidationResult
) -> None:
    assert RISE == 0.05
    verdict = validation_verdict("X", article_stage(), system(1_000, during), "Last")

    assert verdict.result is result


def test_throughput_from_nothing_is_a_rise_without_a_percentage() -> None:
    verdict = validation_verdict("X", article_stage(), system(0, 500), "Last")

    assert verdict.result is ValidationResult.CONSTRAINT
    assert verdict.sentence.startswith(
        "System throughput rose from zero (0 → 500 records/s)"
    )


@pytest.mark.parametrize(
    ("before", "during", "missing"),
    [
        (None, 38_000, "before"),
        (28_500, None, "during"),
        (None, None, "before or during"),
    ],
)
def test_without_the_last_stage_in_a_period_the_verdict_says_what_is_missing(
    before: float | None, during: float | None, missing: str
) -> None:
    verdict = validation_verdict(
        "Feature-Tier2", article_stage(), system(before, during), "Alerting"
    )

    assert verdict.result is ValidationResult.INCONCLUSIVE
    assert verdict.sentence == (
        f"No metrics of Alerting, the last stage, were ingested {missing} the "
        "experiment, so there is no system throughput to compare."
    )


def test_a_suspect_whose_capacity_did_not_rise_was_not_tested() -> None:
    unchanged = compare_periods(article_before(), [point(n) for n in range(60)])

    verdict = validation_verdict(
        "Feature-Tier2", unchanged, system(28_500, 28_500), "Alerting"
    )

    assert verdict.result is ValidationResult.INCONCLUSIVE
    assert verdict.sentence == (
        "Feature-Tier2's reported capacity did not rise (30k → 30k records/s), so "
        "the experiment has not tested it."
    )


def test_a_suspect_without_metrics_is_judged_by_the_system_alone() -> None:
    verdict = validation_verdict(
        "Feature-Tier2", compare_periods([], []), system(28_500, 38_000), "Alerting"
    )

    assert verdict.result is ValidationResult.CONSTRAINT


@pytest.mark.parametrize(
    ("field", "value"),
    [("load", -1.0), ("capacity", float("nan")), ("utilization", -0.1)],
)
def test_impossible_points_are_rejected(field: str, value: float) -> None:
    arguments: dict[str, float] = {field: value}
    with pytest.raises(ValueError, match=field):
        point(0, **arguments)  # type: ignore[arg-type]


def test_a_point_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        PeriodPoint(datetime(2025, 3, 1, 12, 0), 1.0, 2.0, None, 0, 5.0)


measurements = st.tuples(
    st.floats(min_value=0, max_value=1e5),
    st.floats(min_value=0, max_value=1e5),
    st.none() | st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=10_000),
    st.floats(min_value=0, max_value=1e4),
)


Row = tuple[float, float, float | None, int, float]


def period(rows: Sequence[Row], start: int) -> list[PeriodPoint]:
    return [
        point(
            start + n,
            load=load,
            capacity=capacity,
            utilization=utilization,
            queue_depth=queue_depth,
            latency_p95_ms=latency,
        )
        for n, (load, capacity, utilization, queue_depth, latency) in enumerate(rows)
    ]


@PROPERTY
@given(rows=st.lists(measurements, min_size=1, max_size=20))
def test_the_same_minutes_an_hour_later_are_no_change(
    rows: list[Row],
) -> None:
    comparison = compare_periods(period(rows, -60), period(rows, 0))

    for change in comparison.changes:
        assert change.change == "no change"
        assert change.improved is None


@PROPERTY
@given(
    rows=st.lists(measurements, min_size=1, max_size=20),
    rng=st.randoms(use_true_random=False),
)
def test_a_summary_does_not_depend_on_the_order_of_its_points(
    rows: list[Row], rng: random.Random
) -> None:
    points = period(rows, 0)
    shuffled = list(points)
    rng.shuffle(shuffled)

    in_order, reordered = summarize_period(points), summarize_period(shuffled)

    # Equal up to float rounding: sums in another order may differ in the last bit.
    for metric in PeriodMetric:
        assert reordered.value(metric) == pytest.approx(
            in_order.value(metric), rel=1e-9, abs=1e-9
        )


@PROPERTY
@given(rows=st.lists(measurements, min_size=1, max_size=20))
def test_mean_throughput_lies_between_the_slowest_and_fastest_minute(
    rows: list[Row],
) -> None:
    points = period(rows, 0)
    loads = [each.load for each in points]

    summary = summarize_period(points)

    assert summary.throughput is not None
    assert min(loads) - 1e-6 <= summary.throughput <= max(loads) + 1e-6
    assert system_throughput(points) == summary.throughput


@PROPERTY
@given(
    before=st.floats(min_value=0, max_value=1e6),
    during=st.floats(min_value=0, max_value=1e6),
)
def test_the_suspect_is_the_constraint_exactly_when_system_throughput_rises(
    before: float, during: float
) -> None:
    verdict = validation_verdict("X", article_stage(), system(before, during), "Last")

    # The means of sixty equal minutes, as the verdict read them.
    old, new = verdict.before, verdict.during
    assert old == pytest.approx(before) and new == pytest.approx(during)
    rose = new > old * (1 + RISE) if old > 0 else new > 0
    expected = ValidationResult.CONSTRAINT if rose else ValidationResult.NOT_CONSTRAINT
    assert verdict.result is expected
    assert ("%" in verdict.sentence) == (old > 0 and new != old)
