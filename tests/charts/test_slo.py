from __future__ import annotations

from toc.analysis.slo import SloStatus
from toc.charts.slo import SloGauge, slo_bullets
from toc.charts.theme import DANGER, OK

LATENCY = SloGauge("Time to decision", "<=", 5.0, 3.2, "s", SloStatus.MET)
COVERAGE = SloGauge("Coverage", ">=", 0.99, 0.9, "", SloStatus.VIOLATED)


def test_each_slo_has_its_own_axis_with_a_measured_bar_and_a_target_tick(valid):
    figure = valid(slo_bullets([LATENCY, COVERAGE]))
    by_axis = {}
    for trace in figure["data"]:
        by_axis.setdefault(trace["xaxis"], []).append(trace)
    assert sorted(by_axis) == ["x", "x2"]
    band, measured, target = by_axis["x"]
    assert measured["x"] == [3.2] and measured["marker"]["color"] == OK
    assert target["x"] == [5.0] and target["marker"]["symbol"] == "line-ns"
    assert by_axis["x2"][1]["marker"]["color"] == DANGER
    # The scale leaves room past the larger of target and measured value.
    assert figure["layout"]["xaxis"]["range"] == [0, 6.25]
    assert band["x"] == [6.25]


def test_rows_stack_top_down_in_the_given_order():
    layout = slo_bullets([LATENCY, COVERAGE])["layout"]
    assert layout["yaxis"]["domain"][0] > layout["yaxis2"]["domain"][1]


def test_an_unmeasured_slo_shows_its_target_and_says_it_is_not_measured(valid):
    unmeasured = SloGauge("Data loss", "<=", 0.0, None, "%", SloStatus.UNKNOWN)
    figure = valid(slo_bullets([unmeasured]))
    assert [t["name"] for t in figure["data"]] == ["range", "target"]
    assert [a["text"] for a in figure["layout"]["annotations"]] == [
        "Data loss · unknown",
        "not measured yet",
    ]
    assert figure["layout"]["xaxis"]["range"] == [0, 1]


def test_hover_states_target_measured_value_and_status():
    hover = slo_bullets([LATENCY])["data"][1]["hovertext"][0]
    assert "Target: at most 5 s" in hover
    assert "measured 3.2 s (met)" in hover


def test_each_row_is_titled_with_the_slo_name_and_its_status_in_colour():
    titles = slo_bullets([LATENCY, COVERAGE])["layout"]["annotations"]
    assert [(t["text"], t["font"]["color"]) for t in titles] == [
        ("Time to decision · met", OK),
        ("Coverage · violated", DANGER),
    ]
