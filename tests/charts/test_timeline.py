from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toc.charts.timeline import OUTSIDE, CycleSpan, Move, constraint_timeline

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=10)
STAGES = ["Ingest", "Features", "Inference"]


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def _bars(figure: dict) -> dict:
    return {t["name"]: t for t in figure["data"] if t["type"] == "bar"}


def test_each_stage_holds_the_constraint_from_one_move_to_the_next(valid):
    moves = [
        Move(day(2), "Features", "Inference"),
        Move(day(6), "Inference", "Features"),
    ]
    figure = valid(constraint_timeline(STAGES, moves, [], START, END))
    bars = _bars(figure)
    assert sorted(bars) == ["Features", "Inference"]
    assert bars["Features"]["base"] == ["2026-11-01 00:00:00", "2026-11-07 00:00:00"]
    assert bars["Features"]["x"] == [2 * 86_400_000, 4 * 86_400_000]
    assert bars["Inference"]["x"] == [4 * 86_400_000]


def test_moves_are_markers_on_the_row_of_the_stage_that_took_over():
    moves = [Move(day(2), "Features", None, reason="Demand fell.")]
    figure = constraint_timeline(STAGES, moves, [], START, END)
    (markers,) = [t for t in figure["data"] if t["name"] == "moves"]
    assert markers["y"] == [OUTSIDE]
    assert markers["x"] == ["2026-11-03 00:00:00"]
    assert "Demand fell." in markers["hovertext"][0]
    assert _bars(figure)[OUTSIDE]["x"] == [8 * 86_400_000]


def test_every_stage_has_a_lane_in_pipeline_order_then_outside(valid):
    figure = valid(constraint_timeline(STAGES, [], [], START, END))
    assert figure["layout"]["yaxis"]["categoryarray"] == [*STAGES, OUTSIDE]
    (lanes,) = figure["data"]
    assert lanes["y"] == [*STAGES, OUTSIDE]
    assert lanes["marker"]["opacity"] == 0


def test_cycles_are_shaded_spans_titled_and_open_ones_run_to_the_end(valid):
    cycles = [
        CycleSpan(1, "Cache features", day(1), day(3)),
        CycleSpan(2, "Cascade <v2>", day(7), None),
    ]
    figure = valid(constraint_timeline(STAGES, [], cycles, START, END))
    spans = figure["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in spans] == [
        ("2026-11-02 00:00:00", "2026-11-04 00:00:00"),
        ("2026-11-08 00:00:00", "2026-11-11 00:00:00"),
    ]
    labels = [
        (a["text"], a["x"], a["xanchor"]) for a in figure["layout"]["annotations"]
    ]
    # The second starts late in the window: its label ends where it ends.
    assert labels == [
        ("Cycle 1", "2026-11-02 00:00:00", "left"),
        ("Cycle 2", "2026-11-11 00:00:00", "right"),
    ]
    # Titles side by side would overlap on a phone: they show on hover.
    assert [a["hovertext"] for a in figure["layout"]["annotations"]] == [
        "Cycle 1: Cache features",
        "Cycle 2: Cascade &lt;v2&gt;",
    ]


def test_what_lies_before_the_window_is_clipped():
    moves = [Move(START - timedelta(days=5), "Ingest", "Features")]
    cycles = [CycleSpan(1, "Old", START - timedelta(days=9), START - timedelta(days=8))]
    figure = constraint_timeline(STAGES, moves, cycles, START, END)
    assert _bars(figure)["Features"]["base"] == ["2026-11-01 00:00:00"]
    assert "Ingest" not in _bars(figure)
    assert figure["layout"]["shapes"] == []


def test_nothing_is_drawn_before_the_first_constraint_was_found():
    moves = [Move(day(2), None, "Features"), Move(day(5), "Features", None)]
    bars = _bars(constraint_timeline(STAGES, moves, [], START, END))
    assert bars["Features"]["base"] == ["2026-11-03 00:00:00"]
    assert bars[OUTSIDE]["base"] == ["2026-11-06 00:00:00"]


def test_buttons_zoom_to_the_last_hour_day_week_month_or_all(valid):
    figure = valid(constraint_timeline(STAGES, [], [], START, END))
    buttons = figure["layout"]["xaxis"]["rangeselector"]["buttons"]
    assert [b["label"] for b in buttons] == ["1 h", "1 d", "1 w", "1 m", "All"]


# The widest date label plotly.js writes on this axis ("Sep 30"), at the
# figure's 12 px font and about 0.6 em a character.
DATE_LABEL_PX = len("Sep 30") * 0.6 * 12


def test_the_axis_end_has_room_for_half_a_date_label(valid):
    # plotly.js hides a tick label that would cross the chart's edge: the date
    # at the axis's end went missing on a phone.
    figure = valid(constraint_timeline(STAGES, [], [], START, END))
    assert figure["layout"]["margin"]["r"] >= DATE_LABEL_PX / 2


def test_the_zoom_buttons_end_where_the_axis_ends(valid):
    # From the axis's left end, beside long stage names, five buttons ran past
    # a phone's edge.
    figure = valid(constraint_timeline(STAGES, [], [], START, END))
    selector = figure["layout"]["xaxis"]["rangeselector"]
    assert (selector["x"], selector["xanchor"]) == (1, "right")
