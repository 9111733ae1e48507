from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toc.charts.slo_budget import BurnThreshold, budget_charts

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOURS = [T0 + timedelta(hours=n) for n in range(4)]
WINDOW = (T0, T0 + timedelta(days=28))


def _levels(chart: dict) -> list[float]:
    return [shape["y0"] for shape in chart["layout"]["shapes"]]


def _labels(chart: dict) -> dict[float, str]:
    return {a["y"]: a["text"] for a in chart["layout"]["annotations"]}


def test_both_charts_are_valid_and_show_the_whole_window(valid):
    charts = budget_charts(HOURS, WINDOW, [1.0, 0.8, None, 0.6], [0.0, 2.0, None, 1.5])
    assert set(charts) == {"budget", "burn"}
    for chart in charts.values():
        valid(chart)
        assert chart["layout"]["xaxis"]["range"] == [
            "2026-11-01 12:00:00",
            "2026-11-29 12:00:00",
        ]
        assert chart["data"][0]["x"][0] == "2026-11-01 12:00:00"


def test_the_budget_reads_in_percent_with_its_zero_drawn(valid):
    budget = valid(
        budget_charts(HOURS, WINDOW, [1.0, 0.8, None, 0.6], [0] * 4)["budget"]
    )
    assert budget["data"][0]["y"] == [1.0, 0.8, None, 0.6]
    assert budget["layout"]["yaxis"]["tickformat"] == ".0%"
    assert _levels(budget) == [0.0]
    assert _labels(budget) == {0.0: "budget spent"}
    # Not overspent: one line, and the axis stops just below the zero line.
    assert len(budget["data"]) == 1
    assert budget["layout"]["yaxis"]["range"][0] == -0.05


def test_a_budget_spent_past_zero_is_shaded_below_the_line(valid):
    budget = valid(
        budget_charts(HOURS, WINDOW, [0.5, -0.2, None, -1.0], [0] * 4)["budget"]
    )
    line, overspent = budget["data"]
    assert line["y"] == [0.5, -0.2, None, -1.0]
    assert overspent["y"] == [0.0, -0.2, None, -1.0]
    assert overspent["fill"] == "tozeroy"
    assert _labels(budget)[-1.0] == "below 0: spent past the budget"
    low, high = budget["layout"]["yaxis"]["range"]
    assert low < -1.0 and high >= 1.0


def test_burn_rate_draws_one_times_and_the_alert_thresholds(valid):
    burn = valid(budget_charts(HOURS, WINDOW, [1.0] * 4, [0.5, 3.0, None, 1.0])["burn"])
    assert burn["data"][0]["y"] == [0.5, 3.0, None, 1.0]
    assert sorted(_levels(burn)) == [1.0, 6.0, 14.4]
    assert _labels(burn) == {
        1.0: "1× lasts the window",
        14.4: "14.4× pages",
        6.0: "6× pages",
    }
    # The highest threshold stays in view though nothing burnt near it.
    assert burn["layout"]["yaxis"]["range"][1] > 14.4


def test_a_peak_above_the_thresholds_stays_in_view(valid):
    burn = valid(budget_charts(HOURS, WINDOW, [0.0] * 4, [0.0, 80.0, 2.0, 1.0])["burn"])
    assert burn["layout"]["yaxis"]["range"][1] >= 80.0


def test_thresholds_are_the_callers_and_their_labels_are_text():
    burn = budget_charts(
        HOURS,
        WINDOW,
        [1.0] * 4,
        [0.0] * 4,
        thresholds=[BurnThreshold(3.0, "<b>3×</b>")],
    )["burn"]
    assert _labels(burn) == {1.0: "1× lasts the window", 3.0: "&lt;b&gt;3×&lt;/b&gt;"}


def test_a_window_without_data_still_draws_its_lines(valid):
    charts = budget_charts([], WINDOW, [], [])
    for chart in charts.values():
        valid(chart)
    assert _levels(charts["budget"]) == [0.0]
    assert 1.0 in _levels(charts["burn"])
