"""Figures of the current ledger: the pipeline as a flow, and headroom per stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toc.analysis.constraint import SATURATION
from toc.charts.theme import (
    DANGER,
    INK,
    LINE,
    MUTED,
    Spec,
    figure,
    layout,
    text,
    utilization_colour,
)
from toc.lib import formats

BOX_WIDTH = 0.8
# Characters of a stage name that fit a box of six at the dashboard's width.
LABEL_ROOM = 18
# Below this many pixels a stage, the boxes side by side would squeeze their
# labels: charts.js draws the stacked variant instead (``narrow``).
SIDE_BY_SIDE_PX = 150
# The stacked variant: a row per stage, its name beside the CONSTRAINT mark.
ROW_PX = 64
STACKED_LABEL_ROOM = 26


def pipeline_flow(
    ledger: Mapping[str, Any],
    constraint: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> Spec:
    """The stages left to right, coloured by utilization, the constraint outlined.

    ``ledger`` is the ledger API's payload: ``stages`` in pipeline order and the
    ``constraint`` (or None). ``constraint`` is the slug to outline when it is not
    the window's verdict (the stage that holds it, as the card says). ``urls``
    (slug: page) go with the stages' points: charts.js opens one on a click.
    """
    constraint = constraint or _verdict(ledger)
    shapes, annotations, hover = [], [], []
    for index, row in enumerate(ledger["stages"]):
        is_constraint = row["stage"] == constraint
        has_data = bool(row["samples"])
        box = {"type": "rect", "x0": index, "x1": index + BOX_WIDTH, "y0": 0, "y1": 1}
        shapes += _stage_box(box, row, has_data, is_constraint)
        centre = index + BOX_WIDTH / 2
        annotations.extend(_box_labels(centre, row, has_data))
        if is_constraint:
            annotations.append(
                {
                    "x": centre,
                    "y": 1.06,
                    "yanchor": "bottom",
                    "text": "CONSTRAINT",
                    "showarrow": False,
                    "font": {"color": DANGER, "size": 11, "weight": "bold"},
                }
            )
        if index:
            annotations.append(_arrow(index, 0.5, index - 1 + BOX_WIDTH, 0.5))
        hover.append(_hover_text(row, has_data, is_constraint, ledger))
    count = len(ledger["stages"])
    links = [urls[row["stage"]] for row in ledger["stages"]] if urls else None
    data: list[Spec] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "stages",
            "x": [index + BOX_WIDTH / 2 for index in range(count)],
            "y": [0.5] * count,
            "marker": {"size": 70, "color": "rgba(0,0,0,0)", "symbol": "square"},
            "hovertext": hover,
            "hoverinfo": "text",
        }
    ]
    if links:
        data[0]["customdata"] = links
    axis = {"visible": False, "fixedrange": True}
    return {
        **figure(
            data,
            layout(
                xaxis={**axis, "range": [-0.1, max(count, 1) - 0.1]},
                yaxis={**axis, "range": [-0.05, 1.25]},
                shapes=shapes,
                annotations=annotations,
                margin={"l": 8, "r": 8, "t": 8, "b": 8},
            ),
            height=170,
        ),
        # The builder cannot know how wide the chart will be; charts.js measures
        # it and draws this instead where the boxes would not fit side by side.
        "narrow": {
            **_stacked_flow(ledger, constraint, hover, links),
            "below_px": SIDE_BY_SIDE_PX * count,
        },
    }


def _stacked_flow(
    ledger: Mapping[str, Any],
    constraint: str | None,
    hover: list[str],
    urls: list[str] | None,
) -> Spec:
    """The flow top to bottom, a full-width row per stage: for a phone."""
    shapes: list[Spec] = []
    annotations: list[Spec] = []
    for index, row in enumerate(ledger["stages"]):
        has_data = bool(row["samples"])
        is_constraint = row["stage"] == constraint
        box = {"type": "rect", "x0": 0, "x1": 1, "y0": index, "y1": index + BOX_WIDTH}
        shapes += _stage_box(box, row, has_data, is_constraint)
        ink = INK if has_data else MUTED
        annotations.append(
            {
                "x": 0.03,
                "y": index + 0.25,
                "xanchor": "left",
                "text": text(_short(row["name"], STACKED_LABEL_ROOM)),
                "showarrow": False,
                "font": {"color": ink, "size": 13, "weight": "bold"},
            }
        )
        annotations.append(
            {
                "x": 0.03,
                "y": index + 0.57,
                "xanchor": "left",
                "text": _details(row, has_data, " · "),
                "showarrow": False,
                "font": {"color": ink, "size": 11},
            }
        )
        if is_constraint:
            annotations.append(
                {
                    "x": 0.97,
                    "y": index + 0.25,
                    "xanchor": "right",
                    "text": "CONSTRAINT",
                    "showarrow": False,
                    "font": {"color": DANGER, "size": 11, "weight": "bold"},
                }
            )
        if index:
            annotations.append(_arrow(0.5, index, 0.5, index - 1 + BOX_WIDTH))
    count = len(ledger["stages"])
    points: Spec = {
        "type": "scatter",
        "mode": "markers",
        "name": "stages",
        "x": [0.5] * count,
        "y": [index + BOX_WIDTH / 2 for index in range(count)],
        "marker": {"size": 44, "color": "rgba(0,0,0,0)", "symbol": "square"},
        "hovertext": hover,
        "hoverinfo": "text",
    }
    if urls:
        points["customdata"] = urls
    axis = {"visible": False, "fixedrange": True}
    return figure(
        [points],
        layout(
            xaxis={**axis, "range": [0, 1]},
            yaxis={**axis, "range": [max(count, 1) - 0.1, -0.1]},
            shapes=shapes,
            annotations=annotations,
            margin={"l": 4, "r": 4, "t": 4, "b": 4},
        ),
        height=ROW_PX * max(count, 1) + 8,
    )


def _arrow(x: float, y: float, from_x: float, from_y: float) -> Spec:
    """An arrow from one stage's box to the next one's."""
    return {
        "x": x,
        "y": y,
        "ax": from_x,
        "ay": from_y,
        "xref": "x",
        "yref": "y",
        "axref": "x",
        "ayref": "y",
        "text": "",
        "showarrow": True,
        "arrowhead": 2,
        "arrowsize": 1.2,
        "arrowcolor": MUTED,
    }


def _stage_box(
    box: Spec, row: Mapping[str, Any], has_data: bool, is_constraint: bool
) -> list[Spec]:
    """A stage's box in the flow, coloured by its utilization."""
    colour = utilization_colour(row["utilization"] if has_data else None)
    # A translucent fill under an opaque outline: the fill's opacity would fade
    # the outline too.
    fill = {
        **box,
        "fillcolor": colour,
        "opacity": 0.18 if has_data else 0.08,
        "line": {"width": 0},
        "layer": "below",
    }
    outline = {
        **box,
        "line": {
            "color": DANGER if is_constraint else colour,
            "width": 4 if is_constraint else 1.5,
            "dash": "solid" if has_data else "dot",
        },
    }
    return [fill, outline]


def _details(row: Mapping[str, Any], has_data: bool, between: str) -> str:
    """Load and capacity, then how busy and the headroom, ``between`` the two."""
    if not has_data:
        return "no samples"
    # A stage of people gets through a few items an hour, not a second.
    hourly = row.get("kind") == "human"
    scale, unit = (3600, "per h") if hourly else (1, "rec/s")
    return (
        f"{formats.compact(row['load'] * scale)} / "
        f"{formats.compact(row['capacity'] * scale)} {unit}{between}"
        f"{formats.percent(row['utilization'])} busy · "
        f"{formats.times(row['headroom'])}"
    )


def _box_labels(centre: float, row: Mapping[str, Any], has_data: bool) -> list[Spec]:
    # Bold through <b> would need an inline style attribute, which our CSP
    # refuses; the name is an annotation of its own with a bold font instead.
    details = _details(row, has_data, "<br>")
    colour = INK if has_data else MUTED
    return [
        {
            "x": centre,
            "y": 0.72,
            "text": text(_short(row["name"])),
            "showarrow": False,
            "font": {"color": colour, "size": 13, "weight": "bold"},
        },
        {
            "x": centre,
            "y": 0.36,
            "text": details,
            "showarrow": False,
            "font": {"color": colour, "size": 11},
        },
    ]


def _short(name: str, room: int = LABEL_ROOM) -> str:
    """A name that fits its box; the hover shows it whole."""
    return name if len(name) <= room else name[: room - 1].rstrip() + "…"


def _hover_text(
    row: Mapping[str, Any],
    has_data: bool,
    is_constraint: bool,
    ledger: Mapping[str, Any],
) -> str:
    name = text(row["name"])
    if not has_data:
        return f"{name}<br>No samples in this window."
    lines = [
        name,
        f"Utilization {formats.percent(row['utilization'])}"
        + (f" ({formats.percent(row['blocked'])} blocked)" if row["blocked"] else ""),
        f"Queue {formats.count(row['queue_depth'])}, "
        f"{formats.words(row['backlog_state'])}",
        f"p95 latency {formats.latency(row['latency_p95_ms'])}",
    ]
    if is_constraint and row["stage"] == _verdict(ledger):
        lines.append(_wrap(text(ledger["constraint"]["reason"])))
    return "<br>".join(lines)


def _wrap(sentence: str, width: int = 60) -> str:
    """Hover boxes do not wrap by themselves: a long reason would run off screen."""
    lines, current = [], ""
    for word in sentence.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return "<br>".join(lines)


def _verdict(ledger: Mapping[str, Any]) -> str | None:
    return (ledger.get("constraint") or {}).get("stage")


def headroom_bars(ledger: Mapping[str, Any], constraint: str | None = None) -> Spec:
    """Headroom per stage, least first, with the saturation threshold drawn and
    the constraint (as for ``pipeline_flow``) marked.

    Stages without samples, and idle ones (unbounded headroom), have no bar.
    """
    constraint = constraint or _verdict(ledger)
    rows = sorted(
        (row for row in ledger["stages"] if row["samples"] and row["headroom"]),
        key=lambda row: row["headroom"],
    )
    threshold = 1 / SATURATION
    widest = max([row["headroom"] for row in rows] + [threshold])
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "headroom",
            "y": [text(row["name"]) for row in rows],
            "x": [row["headroom"] for row in rows],
            "marker": {
                "color": [utilization_colour(row["utilization"]) for row in rows],
                "line": {
                    "color": [
                        DANGER if row["stage"] == constraint else LINE for row in rows
                    ],
                    "width": [3 if row["stage"] == constraint else 0 for row in rows],
                },
            },
            "text": [
                formats.times(row["headroom"])
                + (" · constraint" if row["stage"] == constraint else "")
                for row in rows
            ],
            "textposition": "auto",
            "hovertext": [
                f"{text(row['name'])}: load can grow "
                f"{formats.times(row['headroom'])} before it saturates"
                for row in rows
            ],
            "hoverinfo": "text",
        }
    ]
    return figure(
        data,
        layout(
            xaxis={
                "title": {"text": "Headroom (× current load)"},
                "range": [0, min(widest, 10) * 1.05],
                "gridcolor": LINE,
                "fixedrange": True,
            },
            yaxis={"autorange": "reversed", "automargin": True, "fixedrange": True},
            shapes=[
                {
                    "type": "line",
                    "x0": threshold,
                    "x1": threshold,
                    "y0": 0,
                    "y1": 1,
                    "yref": "paper",
                    "line": {"color": DANGER, "dash": "dash", "width": 1.5},
                }
            ],
            annotations=[
                {
                    "x": threshold,
                    "y": 1,
                    "yref": "paper",
                    "yanchor": "bottom",
                    "xanchor": "left",
                    "text": f"saturated below {formats.times(threshold)}",
                    "showarrow": False,
                    "font": {"color": DANGER, "size": 11},
                }
            ],
            margin={"l": 8, "r": 16, "t": 24, "b": 40},
        ),
        height=60 + 34 * max(len(rows), 1),
    )
