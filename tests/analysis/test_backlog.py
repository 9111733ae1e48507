from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given

from toc.analysis import BacklogState, LedgerRow, assess_backlog

from .builders import PROPERTY, ledgers, row


def test_empty_queue_is_clear_and_needs_no_draining() -> None:
    backlog = assess_backlog(row("A", utilization=0.99, queue_depth=0, queue_trend=3))

    assert backlog.state is BacklogState.CLEAR
    assert backlog.drain_seconds == 0.0
    assert backlog.queue_seconds == 0.0


def test_queue_with_nothing_processed_is_stuck() -> None:
    backlog = assess_backlog(row("A", utilization=0.0, queue_depth=50))

    assert backlog.state is BacklogState.STUCK
    assert backlog.drain_seconds is None


def test_growing_queue_is_falling_behind_and_never_drains() -> None:
    # Capacity (1000) exceeds throughput (950), yet the queue grows: the measured
    # growth wins over the capacity figure.
    backlog = assess_backlog(
        row("A", utilization=0.95, queue_depth=1_200, queue_trend=40.0)
    )

    assert backlog.state is BacklogState.FALLING_BEHIND
    assert backlog.drain_seconds is None


def test_shrinking_queue_is_draining_at_the_spare_capacity() -> None:
    # Running flat out at 100 records/s while the queue shrinks by 2 records/s:
    # 98 records/s arrive, so 2 records/s go to the 100 queued ones.
    backlog = assess_backlog(
        row("A", utilization=1.0, capacity=100, queue_depth=100, queue_trend=-2.0)
    )

    assert backlog.state is BacklogState.DRAINING
    assert backlog.drain_seconds == pytest.approx(50.0)


def test_drain_time_is_queue_over_spare_capacity() -> None:
    backlog = assess_backlog(row("A", utilization=0.4, capacity=100, queue_depth=600))

    assert backlog.drain_seconds == pytest.approx(600 / (100 - 40))


def test_queue_at_full_capacity_that_does_not_shrink_never_drains() -> None:
    backlog = assess_backlog(row("A", utilization=1.0, capacity=100, queue_depth=50))

    assert backlog.drain_seconds is None


def test_large_flat_queue_is_steady_high() -> None:
    # 10K records at 100 records/s is 100 s of work, over the 60 s default.
    backlog = assess_backlog(
        row("A", utilization=0.5, capacity=100, queue_depth=10_000)
    )

    assert backlog.state is BacklogState.STEADY_HIGH
    assert backlog.queue_seconds == pytest.approx(100.0)


def test_small_flat_queue_is_clear() -> None:
    backlog = assess_backlog(row("A", utilization=0.5, capacity=100, queue_depth=1_000))

    assert backlog.state is BacklogState.CLEAR
    assert backlog.queue_seconds == pytest.approx(10.0)


def test_steady_high_threshold_is_configurable() -> None:
    flat = row("A", utilization=0.5, capacity=100, queue_depth=1_000)

    assert assess_backlog(flat, steady_high_seconds=5).state is (
        BacklogState.STEADY_HIGH
    )


def test_trend_within_noise_counts_as_flat() -> None:
    backlog = assess_backlog(
        row("A", utilization=0.5, capacity=100, queue_depth=10, queue_trend=0.04)
    )

    assert backlog.state is BacklogState.CLEAR


def test_queue_at_a_stage_without_capacity_is_unbounded_work() -> None:
    backlog = assess_backlog(
        row("A", utilization=1.0, capacity=0, load=0, queue_depth=10)
    )

    assert backlog.queue_seconds == math.inf
    assert backlog.drain_seconds is None


def test_stage_without_data_has_no_backlog() -> None:
    assert assess_backlog(LedgerRow("A")) is None


@PROPERTY
@given(ledgers())
def test_drain_time_is_never_negative_and_absent_while_falling_behind(
    rows: list[LedgerRow],
) -> None:
    for each in rows:
        backlog = assess_backlog(each)
        if backlog is None:
            assert not each.has_data
            continue
        if backlog.drain_seconds is not None:
            assert backlog.drain_seconds >= 0
        if backlog.state in (BacklogState.STUCK, BacklogState.FALLING_BEHIND):
            assert backlog.drain_seconds is None
        assert (backlog.state is BacklogState.CLEAR) or backlog.queue_depth > 0


def test_a_trend_within_the_queue_noise_is_flat() -> None:
    noisy = replace(
        row("A", utilization=0.5, queue_depth=1_200, queue_trend=40.0),
        queue_trend_noise=20.0,
    )

    backlog = assess_backlog(noisy)

    assert backlog.state is BacklogState.CLEAR
    # The noisy trend neither adds to the arrivals: 1,200 queued / 500 spare.
    assert backlog.drain_seconds == pytest.approx(2.4)


def test_a_queue_at_a_stage_with_no_spare_capacity_is_never_clear() -> None:
    # The constraint's own row: fully busy, a short flat queue that cannot drain.
    backlog = assess_backlog(row("A", utilization=1.0, queue_depth=50))

    assert backlog.state is BacklogState.STEADY_HIGH
    assert backlog.drain_seconds is None
