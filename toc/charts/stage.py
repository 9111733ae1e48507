"""One stage over time: utilization, queue, latency, where its time went
(busy, blocked, idle) and what it failed on. Every chart has the same time
axis over the same window, so that charts.js can zoom them together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from toc.charts.theme import (
    ACCENT,
    DANGER,
    INK,
    NEUTRAL,
    SIGNIFICANT,
    WARN,
    Spec,
    moment_line,
    plot_time,
    saturation_line,
    text,
    time_figure,
)
from toc.charts.timeline import Move, move_label, move_line
from toc.lib import formats

HEIGHT = 220
_time_figure = partial(time_figure, height=HEIGHT)


def stage_charts(
    t: Sequence[datetime],
    window: tuple[datetime, datetime],
    series: Mapping[str, Sequence[Any]],
    moves: Sequence[Move] = (),
    bucket_label: str | None = None,
) -> dict[str, Spec]:
    """The stage page's charts, keyed ``utilization``, ``queue``, ``latency``,
    ``occupancy`` and ``failures``.

    ``series`` holds lists aligned with ``t`` (bucket starts, None where the
    stage reported nothing): ``utilization`` and ``blocked`` (mean shares),
    ``queue_depth`` and ``latency_p95_ms`` (peaks), ``errors`` and ``dropped``
    (sums). ``window`` is the range every chart shows, data or not; ``moves``
    are the constraint's moves to or from this stage, marked on utilization.
    """
    x = [plot_time(moment) for moment in t]
    x_range = [plot_time(window[0]), plot_time(window[1])]
    mean = f" (mean of {bucket_label})" if bucket_label else ""
    peak = f" (peak of {bucket_label})" if bucket_label else ""
    total = f" (in {bucket_label})" if bucket_label else " (in the minute)"
    return {
        "utilization": _time_figure(
            x_range,
            [_line(x, series["utilization"], "Utilization", ACCENT, "%{y:.0%}" + mean)],
            {"range": [0, 1.05], "tickformat": ".0%"},
            shapes=[saturation_line(), *map(move_line, moves)],
            annotations=[move_label(move) for move in moves],
        ),
        "queue": _time_figure(
            x_range,
            [
                _line(
                    x,
                    series["queue_depth"],
                    "Queue",
                    ACCENT,
                    "%{y:,} queued" + peak,
                )
            ],
            {"rangemode": "tozero"},
        ),
        "latency": _latency_figure(x, x_range, series["latency_p95_ms"], peak),
        "occupancy": _occupancy_figure(
            x, x_range, series["utilization"], series["blocked"], mean
        ),
        "failures": _time_figure(
            x_range,
            [
                _bars(x, series["errors"], "Errors", DANGER, "%{y:,} errors" + total),
                _bars(x, series["dropped"], "Dropped", WARN, "%{y:,} dropped" + total),
            ],
            {"rangemode": "tozero"},
            showlegend=True,
            barmode="group",
        ),
    }


def occupancy(
    utilization: Sequence[float | None], blocked: Sequence[float | None]
) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Busy, blocked and idle shares per bucket, adding up to 1.

    Blocked time is part of the occupied time (utilization), so busy is
    utilization less blocked, and idle the rest; None where utilization is.
    """
    busy: list[float | None] = []
    waiting: list[float | None] = []
    idle: list[float | None] = []
    for used, stuck in zip(utilization, blocked, strict=True):
        if used is None:
            busy.append(None)
            waiting.append(None)
            idle.append(None)
            continue
        used = min(max(used, 0.0), 1.0)
        stuck = min(max(stuck or 0.0, 0.0), used)
        busy.append(round(used - stuck, 3))
        waiting.append(round(stuck, 3))
        idle.append(round(1.0 - used, 3))
    return busy, waiting, idle


def latency_unit(values: Sequence[float | None]) -> tuple[str, float]:
    """The unit the pages would give the peak: a stage of people takes hours
    over an item, a model milliseconds."""
    return formats.latency_unit(max((v for v in values if v is not None), default=0))


def _latency_figure(
    x: list[str], x_range: list[str], values: Sequence[float | None], peak: str
) -> Spec:
    unit, divisor = latency_unit(values)
    scaled = [None if v is None else round(v / divisor, 3) for v in values]
    hover = "p95 %{y:" + SIGNIFICANT + "} " + unit + peak
    return _time_figure(
        x_range,
        [_line(x, scaled, "p95 latency", ACCENT, hover)],
        {"rangemode": "tozero", "ticksuffix": f" {unit}"},
    )


def _occupancy_figure(
    x: list[str],
    x_range: list[str],
    utilization: Sequence[float | None],
    blocked: Sequence[float | None],
    mean: str,
) -> Spec:
    busy, waiting, idle = occupancy(utilization, blocked)
    data = [
        _area(x, busy, "Busy", ACCENT, "%{y:.0%} busy" + mean),
        _area(x, waiting, "Blocked", WARN, "%{y:.0%} blocked by downstream" + mean),
        _area(x, idle, "Idle", NEUTRAL, "%{y:.0%} idle" + mean),
    ]
    return _time_figure(
        x_range,
        data,
        {"range": [0, 1], "tickformat": ".0%"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
    )


def _line(x: list[str], y: Sequence[Any], name: str, colour: str, hover: str) -> Spec:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": list(y),
        "name": name,
        "line": {"color": colour, "width": 1.5},
        "connectgaps": False,
        "hovertemplate": hover + "<extra></extra>",
    }


def _bars(x: list[str], y: Sequence[Any], name: str, colour: str, hover: str) -> Spec:
    return {
        "type": "bar",
        "x": x,
        "y": list(y),
        "name": name,
        "marker": {"color": colour},
        "hovertemplate": hover + "<extra></extra>",
    }


def _area(x: list[str], y: Sequence[Any], name: str, colour: str, hover: str) -> Spec:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": list(y),
        "name": name,
        "stackgroup": "time",
        # No data is no area: drawn as zero, not bridged from its neighbours.
        "stackgaps": "infer zero",
        "line": {"color": colour, "width": 0.5},
        "fillcolor": colour,
        "hovertemplate": hover + "<extra></extra>",
    }


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment of a cycle the before/after charts mark (it opened, the team
    decided, it closed)."""

    at: datetime
    label: str


# The charts a retrospective shows of its constraint stage, of stage_charts'.
BEFORE_AFTER = ("utilization", "queue", "latency")


def before_after_charts(
    t: Sequence[datetime],
    window: tuple[datetime, datetime],
    series: Mapping[str, Sequence[Any]],
    opened: datetime,
    marks: Sequence[Mark],
    bucket_label: str | None = None,
) -> dict[str, Spec]:
    """The constraint stage around a cycle: ``utilization``, ``queue`` and
    ``latency`` as the stage page draws them (``series`` as stage_charts takes
    it), the time before the cycle ``opened`` shaded, and a line at each of
    ``marks``, labelled on the first chart."""
    charts = stage_charts(t, window, series, bucket_label=bucket_label)
    shaded = [_before(window[0], opened)] if window[0] < opened else []
    lines = [_mark_line(mark) for mark in marks]
    for name in BEFORE_AFTER:
        charts[name]["layout"]["shapes"] += [*shaded, *lines]
        charts[name]["layout"]["margin"]["t"] = 40
    labels = charts[BEFORE_AFTER[0]]["layout"]["annotations"]
    if shaded:
        labels.append(_label(window[0], "Before", "left", 0))
    span = window[1] - window[0]
    for n, mark in enumerate(marks, 1):
        # A label reads away from the nearer edge, so that it stays in view.
        anchor = "left" if (mark.at - window[0]) < span / 2 else "right"
        labels.append(_label(mark.at, mark.label, anchor, n % 2))
    return {name: charts[name] for name in BEFORE_AFTER}


def _before(start: datetime, opened: datetime) -> Spec:
    return {
        "type": "rect",
        "x0": plot_time(start),
        "x1": plot_time(opened),
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "fillcolor": NEUTRAL,
        "opacity": 0.15,
        "line": {"width": 0},
        "layer": "below",
    }


def _mark_line(mark: Mark) -> Spec:
    return moment_line(mark.at, INK, "dash", 1)


def _label(at: datetime, words: str, anchor: str, row: int) -> Spec:
    """Above the chart, beside its line; neighbours alternate between two rows,
    so that marks close in time keep their labels apart."""
    return {
        "x": plot_time(at),
        "y": 1,
        "yref": "paper",
        "xanchor": anchor,
        "yanchor": "bottom",
        "yshift": 14 * row,
        "text": text(words),
        "hovertext": f"{text(words)}: {plot_time(at)} UTC",
        "showarrow": False,
        "font": {"color": INK, "size": 11},
    }
