from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toc.charts.series import LABELLED_MOVES, stage_timeseries
from toc.charts.timeline import Move

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
T = [START + timedelta(minutes=m) for m in range(3)]
STAGES = [
    {"name": "Ingest", "utilization": [0.2, 0.3, None], "queue_depth": [0, 1, None]},
    {"name": "Features", "utilization": [0.9, 0.95, 0.99], "queue_depth": [5, 9, 14]},
]


def test_each_stage_gets_a_utilization_and_a_queue_line_on_one_time_axis(valid):
    figure = valid(stage_timeseries(T, STAGES, []))
    lines = figure["data"]
    assert [(line["name"], line["yaxis"]) for line in lines] == [
        ("Ingest", "y"),
        ("Ingest", "y2"),
        ("Features", "y"),
        ("Features", "y2"),
    ]
    assert lines[2]["y"] == [0.9, 0.95, 0.99]
    assert lines[3]["y"] == [5, 9, 14]
    assert lines[0]["x"] == [
        "2026-11-29 09:00:00",
        "2026-11-29 09:01:00",
        "2026-11-29 09:02:00",
    ]
    # A minute without samples is a gap, not a line drawn to zero.
    assert lines[0]["y"][2] is None and lines[0]["connectgaps"] is False
    # One legend entry per stage, shared by its two lines.
    assert [line.get("showlegend", True) for line in lines] == [
        True,
        False,
        True,
        False,
    ]
    assert (
        lines[0]["line"]["color"]
        == lines[1]["line"]["color"]
        != lines[2]["line"]["color"]
    )


def test_constraint_moves_are_vertical_markers_named_after_the_new_constraint():
    moves = [Move(T[1], "Ingest", "Features"), Move(T[2], "Features", None)]
    layout = stage_timeseries(T, STAGES, moves)["layout"]
    markers = [s for s in layout["shapes"] if s["yref"] == "paper"]
    assert [(m["x0"], m["x1"]) for m in markers] == [
        ("2026-11-29 09:01:00", "2026-11-29 09:01:00"),
        ("2026-11-29 09:02:00", "2026-11-29 09:02:00"),
    ]
    assert [a["text"] for a in layout["annotations"]] == [
        "→ Features",
        "→ Outside the pipeline",
    ]


def test_only_the_latest_moves_are_labelled_when_there_are_many():
    moves = [
        Move(START + timedelta(seconds=s), "A", "B") for s in range(LABELLED_MOVES + 5)
    ]
    layout = stage_timeseries(T, STAGES, moves)["layout"]
    assert len([s for s in layout["shapes"] if s["yref"] == "paper"]) == len(moves)
    assert len(layout["annotations"]) == LABELLED_MOVES
    assert layout["annotations"][-1]["x"] == "2026-11-29 09:00:16"


def test_the_saturation_threshold_is_drawn_on_the_utilization_panel():
    (threshold,) = [
        s
        for s in stage_timeseries(T, STAGES, [])["layout"]["shapes"]
        if s["yref"] == "y"
    ]
    assert threshold["y0"] == threshold["y1"] == 0.85


def test_titles_and_hover_say_when_points_are_peaks_of_a_bucket():
    figure = stage_timeseries(T, STAGES, [], bucket_label="5 min")
    layout = figure["layout"]
    assert layout["yaxis"]["title"]["text"] == "Peak utilization"
    assert layout["yaxis2"]["title"]["text"] == "Peak queue depth"
    assert figure["data"][0]["hovertemplate"] == "%{y:.0%} (peak of 5 min)"
    plain = stage_timeseries(T, STAGES, [])
    assert plain["layout"]["yaxis"]["title"]["text"] == "Utilization"
    assert plain["data"][1]["hovertemplate"] == "%{y:,} queued"


def test_stage_names_are_escaped_in_legend_and_hover():
    stages = [{"name": "<b>x</b>", "utilization": [1.0], "queue_depth": [1]}]
    figure = stage_timeseries(T[:1], stages, [])
    assert figure["data"][0]["name"] == "&lt;b&gt;x&lt;/b&gt;"
