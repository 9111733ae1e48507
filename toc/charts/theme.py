"""What every figure shares: colours, fonts, margins, and how text is made safe."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from toc.analysis.constraint import SATURATION

# A figure or a part of one (trace, layout, shape) as the JSON that plotly.js
# reads: Plotly's schema, not ours, says what its values may be.
type Spec = dict[str, Any]

# The stylesheet's palette (static/css/toc.css), so charts and tables agree.
INK = "#1d2430"
MUTED = "#5d6778"
LINE = "#dfe3ea"
ACCENT = "#2456c7"
OK = "#157347"
WARN = "#b7791f"
DANGER = "#b42318"
NEUTRAL = "#9aa3b2"

# The <meter> in the ledger table turns amber at 0.7 and red at the threshold.
BUSY = 0.7

# One colour per stage in line charts, in pipeline order; distinguishable for the
# common kinds of colour blindness (Okabe–Ito, without yellow on white).
STAGE_COLOURS = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#e69f00",
    "#000000",
    "#8c564b",
    "#7f7f7f",
    "#17becf",
)

# d3-format for formats.significant: three significant digits, written out, no
# trailing zeros (0.0000571, 12,300), so tick and hover read as the page's lists.
SIGNIFICANT = ",.3~r"

CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def stage_colour(index: int) -> str:
    return STAGE_COLOURS[index % len(STAGE_COLOURS)]


def utilization_colour(utilization: float | None) -> str:
    if utilization is None:
        return NEUTRAL
    if utilization >= SATURATION:
        return DANGER
    if utilization >= BUSY:
        return WARN
    return OK


def text(value: object) -> str:
    """Typed text made inert for Plotly, which reads labels as a subset of HTML.

    A stage called ``<a href=…>`` must show those characters, not become a link;
    Plotly decodes the entities back to the characters when it draws.
    """
    return html.escape(str(value), quote=True)


def plot_time(moment: datetime) -> str:
    """A UTC time as Plotly reads dates (it has no time zones), to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def layout(**overrides: object) -> Spec:
    base: Spec = {
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "hoverlabel": {"align": "left"},
        "showlegend": False,
    }
    base.update(overrides)
    return base


def figure(data: list[Spec], layout_: Spec, height: int) -> Spec:
    return {"data": data, "layout": {**layout_, "height": height}, "config": CONFIG}


def moment_line(at: datetime, colour: str, dash: str, width: float) -> Spec:
    """A vertical line across a time chart at the moment `at`."""
    x = plot_time(at)
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "dash": dash, "width": width},
    }


def time_figure(
    x_range: list[str],
    data: list[Spec],
    yaxis: Spec,
    *,
    height: int,
    shapes: list[Spec] | None = None,
    annotations: list[Spec] | None = None,
    **overrides: object,
) -> Spec:
    """A chart over time on `x_range`: only time zooms, so that the charts of
    a page move together along it."""
    return figure(
        data,
        layout(
            hovermode="x unified",
            xaxis={"type": "date", "range": x_range, "gridcolor": LINE},
            yaxis={"gridcolor": LINE, "fixedrange": True, **yaxis},
            **{
                "legend": {"orientation": "h", "y": -0.25},
                "shapes": shapes or [],
                "annotations": annotations or [],
                "margin": {"l": 64, "r": 16, "t": 24, "b": 40},
                **overrides,
            },
        ),
        height=height,
    )


def saturation_line() -> dict[str, Any]:
    """The saturation threshold drawn across a utilization chart."""
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": SATURATION,
        "y1": SATURATION,
        "line": {"color": DANGER, "dash": "dash", "width": 1},
    }
