"""The retrospective's charts of the constraint stage before and during a cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toc.charts.stage import Mark, before_after_charts

START = datetime(2026, 11, 1, tzinfo=UTC)
OPENED = START + timedelta(hours=4)
END = START + timedelta(hours=8)
T = [START + timedelta(hours=n) for n in range(8)]
SERIES = {
    "utilization": [0.97, 0.98, 0.99, 0.97, 0.9, 0.7, 0.6, 0.55],
    "blocked": [0.1] * 8,
    "queue_depth": [900, 1200, 1500, 1400, 800, 40, 10, None],
    "latency_p95_ms": [4200.0, 4500.0, 4800.0, 4600.0, 900.0, 300.0, 280.0, None],
    "errors": [0] * 8,
    "dropped": [0] * 8,
}
MARKS = [
    Mark(OPENED, "Opened"),
    Mark(OPENED + timedelta(hours=3), "Decided: Go"),
    Mark(END, "Closed"),
]


def _charts(**overrides) -> dict:
    arguments = {
        "t": T,
        "window": (START, END),
        "series": SERIES,
        "opened": OPENED,
        "marks": MARKS,
        "bucket_label": "30 min",
    } | overrides
    return before_after_charts(**arguments)


def test_three_valid_charts_over_the_whole_window(valid) -> None:
    charts = _charts()

    assert list(charts) == ["utilization", "queue", "latency"]
    for chart in charts.values():
        valid(chart)
        assert chart["layout"]["xaxis"]["range"] == [
            "2026-11-01 00:00:00",
            "2026-11-01 08:00:00",
        ]
    assert charts["queue"]["data"][0]["y"] == SERIES["queue_depth"]
    # The latency reads in seconds, as its peak does.
    assert charts["latency"]["data"][0]["y"][:2] == [4.2, 4.5]
    assert charts["latency"]["layout"]["yaxis"]["ticksuffix"] == " s"


def test_the_time_before_the_cycle_is_shaded_on_every_chart() -> None:
    for chart in _charts().values():
        [before] = [s for s in chart["layout"]["shapes"] if s["type"] == "rect"]
        assert (before["x0"], before["x1"]) == (
            "2026-11-01 00:00:00",
            "2026-11-01 04:00:00",
        )


def test_every_mark_is_a_line_on_every_chart_and_labelled_on_the_first() -> None:
    charts = _charts()

    for chart in charts.values():
        # Across the time axis, unlike the saturation line, which is along it.
        lines = [
            s["x0"]
            for s in chart["layout"]["shapes"]
            if s["type"] == "line" and s.get("xref") != "paper"
        ]
        assert lines == [
            "2026-11-01 04:00:00",
            "2026-11-01 07:00:00",
            "2026-11-01 08:00:00",
        ]
    labels = charts["utilization"]["layout"]["annotations"]
    assert [label["text"] for label in labels] == [
        "Before",
        "Opened",
        "Decided: Go",
        "Closed",
    ]
    assert charts["queue"]["layout"]["annotations"] == []


def test_labels_read_away_from_the_nearer_edge_and_alternate_rows() -> None:
    labels = _charts(marks=[Mark(START + timedelta(hours=1), "Opened"), *MARKS[1:]])[
        "utilization"
    ]["layout"]["annotations"]

    anchors = {label["text"]: label["xanchor"] for label in labels}
    assert anchors == {
        "Before": "left",
        "Opened": "left",
        "Decided: Go": "right",
        "Closed": "right",
    }
    shifts = [label["yshift"] for label in labels]
    assert shifts == [0, 14, 0, 14]


def test_no_shading_when_the_window_starts_with_the_cycle() -> None:
    charts = _charts(opened=START)

    for chart in charts.values():
        assert all(s["type"] != "rect" for s in chart["layout"]["shapes"])
    texts = [label["text"] for label in charts["utilization"]["layout"]["annotations"]]
    assert "Before" not in texts


def test_typed_words_in_a_label_stay_text() -> None:
    charts = _charts(marks=[Mark(OPENED, "Decided: <b>Go</b>")])

    [label] = [
        a
        for a in charts["utilization"]["layout"]["annotations"]
        if a["text"] != "Before"
    ]
    assert label["text"] == "Decided: &lt;b&gt;Go&lt;/b&gt;"
