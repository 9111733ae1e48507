from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import Comparator, SloStatus, data_loss_share, evaluate_slo

from .builders import PROPERTY

numbers = st.floats(min_value=-1e9, max_value=1e9)


def test_the_articles_detection_slo_is_met_under_five_minutes_and_not_at_47() -> None:
    assert evaluate_slo(Comparator.AT_MOST, 5, 3.2) is SloStatus.MET
    assert evaluate_slo(Comparator.AT_MOST, 5, 5) is SloStatus.MET
    assert evaluate_slo(Comparator.AT_MOST, 5, 47) is SloStatus.VIOLATED


def test_a_recall_floor_is_met_at_the_floor_and_above() -> None:
    assert evaluate_slo(Comparator.AT_LEAST, 90, 90) is SloStatus.MET
    assert evaluate_slo(Comparator.AT_LEAST, 90, 89.9) is SloStatus.VIOLATED


def test_strict_comparators_reject_the_target_itself() -> None:
    assert evaluate_slo(Comparator.BELOW, 10, 10) is SloStatus.VIOLATED
    assert evaluate_slo(Comparator.BELOW, 10, 9) is SloStatus.MET
    assert evaluate_slo(Comparator.ABOVE, 10, 10) is SloStatus.VIOLATED
    assert evaluate_slo(Comparator.ABOVE, 10, 11) is SloStatus.MET


def test_exactly_tolerates_float_rounding_but_nothing_more() -> None:
    assert evaluate_slo(Comparator.EXACTLY, 0.3, 0.1 + 0.2) is SloStatus.MET
    assert evaluate_slo(Comparator.EXACTLY, 0.3, 0.3001) is SloStatus.VIOLATED
    assert evaluate_slo(Comparator.EXACTLY, 0, 0) is SloStatus.MET


def test_nothing_measured_yet_is_unknown_not_violated() -> None:
    for comparator in Comparator:
        assert evaluate_slo(comparator, 5, None) is SloStatus.UNKNOWN


def test_the_stored_symbol_is_accepted_in_place_of_the_comparator() -> None:
    assert evaluate_slo("<=", 10, 11) is SloStatus.VIOLATED


def test_a_queue_that_never_drains_violates_a_time_target() -> None:
    assert evaluate_slo(Comparator.AT_MOST, 60, math.inf) is SloStatus.VIOLATED


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((Comparator.AT_MOST, math.nan, 1.0), "target"),
        ((Comparator.AT_MOST, math.inf, 1.0), "target"),
        ((Comparator.AT_MOST, 5.0, math.nan), "measured"),
        (("=<", 5.0, 1.0), "=<"),
    ],
)
def test_impossible_slos_are_rejected(
    arguments: tuple[str, float, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate_slo(*arguments)


def test_comparators_read_as_words() -> None:
    assert [comparator.label for comparator in Comparator] == [
        "at most",
        "below",
        "at least",
        "above",
        "exactly",
    ]
    assert [str(comparator) for comparator in Comparator] == [
        "<=",
        "<",
        ">=",
        ">",
        "==",
    ]


def test_data_loss_is_the_dropped_share_of_what_arrived() -> None:
    # 50 dropped out of 1,000 arrived (950 processed).
    assert data_loss_share(dropped=50, throughput_records=950) == pytest.approx(0.05)
    assert data_loss_share(dropped=0, throughput_records=950) == 0.0


def test_everything_dropped_is_total_loss() -> None:
    assert data_loss_share(dropped=10, throughput_records=0) == 1.0


def test_no_traffic_has_no_loss_share() -> None:
    assert data_loss_share(dropped=0, throughput_records=0) is None


@pytest.mark.parametrize(
    ("dropped", "throughput"), [(-1, 10), (1, -10), (math.nan, 10), (1, math.inf)]
)
def test_negative_or_unreal_counts_are_rejected(
    dropped: float, throughput: float
) -> None:
    with pytest.raises(ValueError):
        data_loss_share(dropped, throughput)


@PROPERTY
@given(target=numbers, measured=numbers)
def test_a_bound_and_its_strict_opposite_never_both_hold(
    target: float, measured: float
) -> None:
    at_most = evaluate_slo(Comparator.AT_MOST, target, measured)
    above = evaluate_slo(Comparator.ABOVE, target, measured)
    at_least = evaluate_slo(Comparator.AT_LEAST, target, measured)
    below = evaluate_slo(Comparator.BELOW, target, measured)

    assert (at_most is SloStatus.MET) != (above is SloStatus.MET)
    assert (at_least is SloStatus.MET) != (below is SloStatus.MET)


@PROPERTY
@given(target=numbers, measured=numbers)
def test_exactly_is_met_by_the_target_and_only_within_the_tolerance(
    target: float, measured: float
) -> None:
    assert evaluate_slo(Comparator.EXACTLY, target, target) is SloStatus.MET
    if evaluate_slo(Comparator.EXACTLY, target, measured) is SloStatus.MET:
        assert abs(measured - target) <= 1e-9 * max(abs(measured), abs(target))


@PROPERTY
@given(
    dropped=st.floats(min_value=0, max_value=1e12),
    processed=st.floats(min_value=0, max_value=1e12),
)
def test_data_loss_is_a_share_that_grows_with_what_is_dropped(
    dropped: float, processed: float
) -> None:
    share = data_loss_share(dropped, processed)
    if dropped + processed == 0:
        assert share is None
        return
    assert share is not None
    assert 0 <= share <= 1
    more = data_loss_share(dropped + 1, processed)
    assert more is not None
    assert more >= share
