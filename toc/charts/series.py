"""Utilization and queue depth per stage over time, with the constraint's moves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from toc.charts.theme import (
    LINE,
    Spec,
    figure,
    layout,
    plot_time,
    saturation_line,
    stage_colour,
    text,
)
from toc.charts.timeline import Move, move_label, move_line

# Beyond this many moves in view, the markers stay but their labels would overlap.
LABELLED_MOVES = 12


def stage_timeseries(
    t: Sequence[datetime],
    stages: Sequence[Mapping[str, Any]],
    moves: Sequence[Move],
    bucket_label: str | None = None,
) -> Spec:
    """Two panels on one time axis: utilization above, queue depth below.

    ``stages``: ``{"name", "utilization", "queue_depth"}`` with lists aligned to
    ``t`` (None where a stage reported nothing). With ``bucket_label`` (e.g.
    "5 min") each point is the peak of its bucket, and titles and hover say so.
    """
    x = [plot_time(moment) for moment in t]
    # Axis titles stay short (the panels are low); hover says which bucket.
    prefix = "Peak " if bucket_label else ""
    per_bucket = f" (peak of {bucket_label})" if bucket_label else ""
    data: list[Spec] = []
    for index, stage in enumerate(stages):
        colour = stage_colour(index)
        name = text(stage["name"])
        common = {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "name": name,
            "legendgroup": name,
            "line": {"color": colour, "width": 1.5},
            "connectgaps": False,
        }
        data.append(
            {
                **common,
                "y": stage["utilization"],
                "yaxis": "y",
                "hovertemplate": "%{y:.0%}" + per_bucket,
            }
        )
        data.append(
            {
                **common,
                "y": stage["queue_depth"],
                "yaxis": "y2",
                "showlegend": False,
                "hovertemplate": "%{y:,} queued" + per_bucket,
            }
        )
    shapes = [saturation_line()]
    annotations = []
    for number, move in enumerate(moves):
        shapes.append(move_line(move))
        if number >= len(moves) - LABELLED_MOVES:
            annotations.append(move_label(move))
    return figure(
        data,
        layout(
            showlegend=True,
            legend={"orientation": "h", "y": -0.12},
            hovermode="x unified",
            xaxis={"type": "date", "anchor": "y2", "gridcolor": LINE},
            yaxis={
                "title": {"text": f"{prefix}utilization".capitalize()},
                "domain": [0.5, 1],
                "range": [0, 1.05],
                "tickformat": ".0%",
                "gridcolor": LINE,
                "fixedrange": True,
            },
            yaxis2={
                "title": {"text": f"{prefix}queue depth".capitalize()},
                "domain": [0, 0.4],
                "rangemode": "tozero",
                "gridcolor": LINE,
                "fixedrange": True,
            },
            shapes=shapes,
            annotations=annotations,
            margin={"l": 64, "r": 16, "t": 28, "b": 40},
        ),
        height=440,
    )
