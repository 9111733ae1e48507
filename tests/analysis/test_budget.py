from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    BURN_WINDOWS,
    Tally,
    alert_for,
    budget_remaining,
    burn_rate,
    compliance,
    evaluate_budget,
)

from .builders import PROPERTY

objectives = st.floats(min_value=0.5, max_value=0.9999)
shares = st.floats(min_value=0.0, max_value=1.0)
WEEK_H = 7 * 24


def constant(bad_share: float, *, hours: int, per_minute: float = 100.0) -> dict:
    """Tallies of a stream whose bad share is the same every minute."""
    minute = Tally(good=per_minute * (1 - bad_share), total=per_minute)
    hour = Tally(good=minute.good * 60, total=minute.total * 60)
    return {"minutes": [minute] * 60, "hours": [hour] * (hours - 1)}


@PROPERTY
@given(bad_share=shares, objective=objectives)
def test_a_constant_bad_share_burns_at_that_share_over_the_allowed_one(
    bad_share: float, objective: float
) -> None:
    budget = evaluate_budget(
        **constant(bad_share, hours=WEEK_H), window_hours=WEEK_H, objective=objective
    )
    expected = bad_share / (1 - objective)
    assert set(budget.burn_rates) == set(BURN_WINDOWS)
    for rate in budget.burn_rates.values():
        assert rate == pytest.approx(expected, rel=1e-9, abs=1e-9)
    for rate in budget.hourly_burn_rate:
        assert rate == pytest.approx(expected, rel=1e-9, abs=1e-9)


@PROPERTY
@given(objective=objectives)
def test_the_budget_is_whole_at_full_compliance_and_gone_at_the_objective(
    objective: float,
) -> None:
    assert budget_remaining(1.0, objective) == 1.0
    assert budget_remaining(objective, objective) == pytest.approx(0.0, abs=1e-9)
    assert budget_remaining(None, objective) is None


@PROPERTY
@given(a=shares, b=shares, objective=objectives)
def test_more_compliance_leaves_more_budget(a: float, b: float, objective: float):
    low, high = sorted([a, b])
    assert budget_remaining(low, objective) <= budget_remaining(high, objective)


@PROPERTY
@given(bad_share=shares, objective=objectives)
def test_burning_at_one_spends_exactly_the_budget(bad_share: float, objective: float):
    """A burn rate of 1 over the window leaves none; below 1 some, above 1 debt."""
    budget = evaluate_budget(
        **constant(bad_share, hours=24), window_hours=24, objective=objective
    )
    assert budget.compliance == pytest.approx(1 - bad_share, abs=1e-9)
    rate = budget.burn_rates["1d"]
    assert budget.budget_remaining == pytest.approx(1 - rate, rel=1e-9, abs=1e-9)


@PROPERTY
@given(
    goods=st.lists(st.integers(0, 60), min_size=1, max_size=30),
    objective=objectives,
)
def test_compliance_counts_good_slices_over_slices_with_data(
    goods: list[int], objective: float
) -> None:
    hours = [Tally(good=g, total=60) for g in goods]
    budget = evaluate_budget(
        minutes=[], hours=hours, window_hours=len(hours) + 1, objective=objective
    )
    # The newest hour had no data: it counts for nothing either way.
    assert budget.total == 60 * len(goods)
    assert budget.compliance == pytest.approx(sum(goods) / (60 * len(goods)))
    # Oldest first: the newest hour is last, and burnt nothing.
    assert budget.hourly_burn_rate[-1] is None
    assert budget.hourly_budget_remaining[-1] == budget.budget_remaining


def test_no_data_is_no_compliance_and_no_alert() -> None:
    budget = evaluate_budget(minutes=[], hours=[], window_hours=672, objective=0.99)
    assert budget.compliance is None
    assert budget.budget_remaining is None
    assert set(budget.burn_rates.values()) == {None}
    assert budget.alert == ""
    assert compliance(Tally()) is None
    assert burn_rate(Tally(), 0.99) is None


def test_the_window_holds_only_its_own_hours() -> None:
    good_hours = [Tally(60, 60)] * 23
    bad_before = [Tally(0, 60)] * 48
    budget = evaluate_budget(
        minutes=[Tally(1, 1)] * 60,
        hours=good_hours + bad_before,
        window_hours=24,
        objective=0.9,
    )
    assert budget.compliance == 1.0
    assert budget.budget_remaining == 1.0
    assert len(budget.hourly_budget_remaining) == 24
    # The 3-day rate still sees the bad days before the window.
    assert budget.burn_rates["3d"] == pytest.approx((48 / 72) / 0.1)


@pytest.mark.parametrize(
    ("rates", "alert"),
    [
        ({"1h": 14.4, "5m": 14.4}, "page"),
        ({"1h": 20.0, "5m": 1.0}, ""),  # it burnt, but has stopped
        ({"6h": 6.0, "30m": 7.0}, "page"),
        ({"6h": 5.9, "30m": 7.0}, ""),
        ({"1d": 3.0, "2h": 3.5}, "ticket"),
        ({"3d": 1.0, "6h": 1.2}, "ticket"),
        ({"3d": 0.99, "6h": 2.0}, ""),
        ({"1h": 14.4, "5m": 15.0, "3d": 2.0, "6h": 2.0}, "page"),
        ({"1h": None, "5m": 100.0}, ""),
    ],
)
def test_alerts_need_both_the_long_and_the_short_window(rates, alert) -> None:
    assert alert_for(rates) == alert


@PROPERTY
@given(bad_share=shares, objective=objectives)
def test_a_constant_burn_pages_exactly_when_it_passes_the_fast_rules(
    bad_share: float, objective: float
) -> None:
    budget = evaluate_budget(
        **constant(bad_share, hours=72), window_hours=72, objective=objective
    )
    rate = bad_share / (1 - objective)
    if rate >= 6.0 * (1 + 1e-9):
        assert budget.alert == "page"
    elif rate < 1.0 * (1 - 1e-9):
        assert budget.alert == ""
    elif 1.0 * (1 + 1e-9) <= rate < 6.0 * (1 - 1e-9):
        assert budget.alert == "ticket"


def test_a_burst_of_bad_minutes_shows_in_the_short_windows_first() -> None:
    minutes = [Tally(0, 1)] * 5 + [Tally(1, 1)] * 55
    budget = evaluate_budget(
        minutes=minutes, hours=[Tally(60, 60)] * 71, window_hours=72, objective=0.99
    )
    assert budget.burn_rates["5m"] == pytest.approx(100.0)
    assert budget.burn_rates["1h"] == pytest.approx((5 / 60) / 0.01)
    assert budget.burn_rates["2h"] == pytest.approx((5 / 120) / 0.01)
    # Five bad minutes are 8x over the hour: under the 14.4x that pages.
    assert budget.alert == ""
    assert math.isclose(budget.compliance, 1 - 5 / (72 * 60))


def test_a_quarter_hour_all_bad_pages() -> None:
    minutes = [Tally(0, 1)] * 15 + [Tally(1, 1)] * 45
    budget = evaluate_budget(
        minutes=minutes, hours=[Tally(60, 60)] * 71, window_hours=72, objective=0.99
    )
    assert budget.burn_rates["1h"] == pytest.approx(25.0)
    assert budget.alert == "page"


@pytest.mark.parametrize("objective", [0.0, 1.0, -0.1, 1.5])
def test_an_objective_must_be_a_fraction(objective: float) -> None:
    with pytest.raises(ValueError, match="objective"):
        budget_remaining(0.5, objective)
