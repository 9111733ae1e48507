from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toc.charts.stage import latency_unit, occupancy, stage_charts
from toc.charts.timeline import Move

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _series(**overrides) -> dict:
    values = {
        "utilization": [0.9, None, 0.5],
        "blocked": [0.3, None, None],
        "queue_depth": [10, None, 0],
        "latency_p95_ms": [120.0, None, 80.0],
        "errors": [2, None, 0],
        "dropped": [0, None, 1],
    }
    return {**values, **overrides}


def test_every_chart_is_valid_and_shows_the_same_window(valid):
    t = [T0 + timedelta(minutes=n) for n in range(3)]
    moves = [Move(T0 + timedelta(minutes=1), "Ingest", "Features", "why")]
    charts = stage_charts(t, (T0, T0 + timedelta(minutes=3)), _series(), moves)
    assert set(charts) == {"utilization", "queue", "latency", "occupancy", "failures"}
    for chart in charts.values():
        valid(chart)
        assert chart["layout"]["xaxis"]["range"] == [
            "2026-11-01 12:00:00",
            "2026-11-01 12:03:00",
        ]
        assert chart["layout"]["yaxis"]["fixedrange"] is True
    labels = [a["text"] for a in charts["utilization"]["layout"]["annotations"]]
    assert labels == ["→ Features"]


def test_busy_blocked_idle_split_the_time_and_leave_gaps_empty():
    busy, blocked, idle = occupancy([0.9, None, 0.5, 0.2], [0.3, 0.1, None, 0.6])
    assert busy == [0.6, None, 0.5, 0.0]
    assert blocked == [0.3, None, 0.0, 0.2]  # never more than the occupied time
    assert idle == [0.1, None, 0.5, 0.8]


def test_latency_reads_in_the_unit_of_its_peak(valid):
    assert latency_unit([120.0, None]) == ("ms", 1.0)
    # As the ledger table reads it: 9.99 s, not 9,990 ms.
    assert latency_unit([9_990.0]) == ("s", 1_000.0)
    assert latency_unit([45_000.0]) == ("s", 1_000.0)
    assert latency_unit([83_000_000.0]) == ("h", 3_600_000.0)
    t = [T0]
    charts = stage_charts(
        t, (T0, T0 + timedelta(minutes=1)), _series_of_one(83_160_000.0)
    )
    latency = valid(charts["latency"])
    assert latency["data"][0]["y"] == [23.1]
    assert latency["layout"]["yaxis"]["ticksuffix"] == " h"
    assert latency["data"][0]["hovertemplate"].startswith("p95 %{y:,.3~r} h")


def _series_of_one(latency_ms: float) -> dict:
    return {
        "utilization": [1.0],
        "blocked": [None],
        "queue_depth": [60],
        "latency_p95_ms": [latency_ms],
        "errors": [0],
        "dropped": [0],
    }


def test_a_stage_name_in_a_move_is_text_not_markup():
    moves = [Move(T0, None, "<b>x</b>")]
    charts = stage_charts(
        [T0], (T0, T0 + timedelta(minutes=1)), _series_of_one(1), moves
    )
    assert charts["utilization"]["layout"]["annotations"][0]["text"] == (
        "→ &lt;b&gt;x&lt;/b&gt;"
    )
