from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from toc.analysis import decision_budget

from .builders import PROPERTY


def test_a_team_sized_for_50_alerts_of_45_minutes_is_exactly_fully_used() -> None:
    # 50 alerts x 45 min = 2250 min of work; at 8 h (480 min) per person that is
    # 4.6875 people busy on average.
    budget = decision_budget(
        alerts_per_day=50, minutes_per_investigation=45, analysts=4.6875
    )

    assert budget.in_progress == pytest.approx(4.6875)
    assert budget.sustainable_alerts_per_day == pytest.approx(50)
    assert budget.utilization == pytest.approx(1.0)
    assert budget.holds


def test_five_analysts_absorb_50_alerts_with_a_little_slack() -> None:
    budget = decision_budget(50, 45, analysts=5)

    assert budget.sustainable_alerts_per_day == pytest.approx(5 * 480 / 45)
    assert budget.utilization == pytest.approx(4.6875 / 5)
    assert budget.holds


def test_more_alerts_than_the_team_can_investigate_break_the_budget() -> None:
    budget = decision_budget(60, 45, analysts=5)

    assert budget.utilization == pytest.approx(60 * 45 / (5 * 480))
    assert not budget.holds


def test_longer_working_days_raise_the_sustainable_rate() -> None:
    short = decision_budget(50, 45, analysts=5, hours_per_analyst_per_day=6)
    long = decision_budget(50, 45, analysts=5, hours_per_analyst_per_day=10)

    assert long.sustainable_alerts_per_day == pytest.approx(
        short.sustainable_alerts_per_day * 10 / 6
    )


def test_nobody_to_investigate_means_no_budget_for_any_alert() -> None:
    assert decision_budget(1, 45, analysts=0).utilization == math.inf
    assert not decision_budget(1, 45, analysts=0).holds
    assert decision_budget(0, 45, analysts=0).holds


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1, 45, 5), "alerts_per_day"),
        ((50, 0, 5), "minutes_per_investigation"),
        ((50, 45, -1), "analysts"),
        ((50, 45, 5, 0), "hours_per_analyst_per_day"),
        ((50, 45, 5, 25), "hours_per_analyst_per_day"),
    ],
)
def test_impossible_inputs_are_rejected(
    arguments: tuple[float, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decision_budget(*arguments)


@PROPERTY
@given(
    alerts=st.floats(min_value=0, max_value=1e4),
    minutes=st.floats(min_value=0.5, max_value=600),
    analysts=st.floats(min_value=0.1, max_value=200),
    hours=st.floats(min_value=1, max_value=24),
)
def test_budget_holds_exactly_when_alerts_fit_the_sustainable_rate(
    alerts: float, minutes: float, analysts: float, hours: float
) -> None:
    budget = decision_budget(alerts, minutes, analysts, hours)
    # Away from the boundary, where float rounding could go either way.
    assume(not math.isclose(alerts, budget.sustainable_alerts_per_day, rel_tol=1e-9))

    assert budget.holds == (alerts <= budget.sustainable_alerts_per_day)
    assert budget.utilization * budget.sustainable_alerts_per_day == pytest.approx(
        alerts, abs=1e-9
    )
    assert budget.in_progress == pytest.approx(budget.utilization * analysts)
