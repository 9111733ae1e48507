from __future__ import annotations

from toc.analysis.features import Feature, feature_values
from toc.charts.features import feature_value_chart
from toc.charts.theme import ACCENT, DANGER, SIGNIFICANT


def _values():
    return feature_values(
        [
            Feature("amount", 0.50, 1.0),
            Feature("merchant_history", 0.30, 10.0),
            Feature("device_graph", 0.002, 40.0),
            Feature("country", 0.2, 0.0),
        ]
    )


def test_bars_follow_the_value_ranking_and_highlight_pruning_candidates(valid):
    figure = valid(feature_value_chart(_values()))
    bars, _ = figure["data"]
    assert bars["x"] == ["country", "amount", "merchant_history", "device_graph"]
    assert bars["marker"]["color"] == [ACCENT, ACCENT, ACCENT, DANGER]
    assert "Pruning candidate" in bars["hovertext"][3]


def test_a_free_feature_is_drawn_at_the_top_of_the_scale_and_labelled(valid):
    bars = valid(feature_value_chart(_values()))["data"][0]
    assert bars["text"][0] == "free"
    assert bars["y"][0] == max(bars["y"][1:]) * 1.1


def test_the_line_is_the_cumulative_share_of_compute_on_its_own_axis():
    cumulative = feature_value_chart(_values())["data"][1]
    assert cumulative["yaxis"] == "y2"
    assert cumulative["y"] == [0.0, 1 / 51, 11 / 51, 1.0]


def test_no_features_gives_an_empty_but_valid_figure(valid):
    figure = valid(feature_value_chart([]))
    assert figure["data"][0]["x"] == []


def test_pruning_candidates_columns_are_shaded_and_labelled():
    layout = feature_value_chart(_values())["layout"]
    assert [(s["x0"], s["x1"]) for s in layout["shapes"]] == [(2.5, 3.5)]
    assert [(a["x"], a["text"]) for a in layout["annotations"]] == [(3, "prune?")]


def test_scores_read_as_the_pages_write_them_never_in_exponent_form(valid):
    figure = valid(feature_value_chart(_values()))
    # device_graph: 0.002 importance for 40 units of compute, 5e-05.
    assert figure["data"][0]["text"][3] == "0.00005"
    assert figure["layout"]["yaxis"]["tickformat"] == SIGNIFICANT
