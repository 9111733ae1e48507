"""Which stage held the system back over time, and the cycles that worked on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from toc.charts.theme import (
    ACCENT,
    DANGER,
    LINE,
    MUTED,
    Spec,
    figure,
    layout,
    moment_line,
    plot_time,
    stage_colour,
    text,
)

OUTSIDE = "Outside the pipeline"
# Room right of the axis for half a date label ("Nov 29" is 43 px wide at 12 px):
# plotly.js hides a tick label that would cross the chart's edge, so with less
# the date at the axis's end went missing, most often on a phone.
RIGHT_MARGIN_PX = 28


@dataclass(frozen=True, slots=True)
class Move:
    """A constraint event: at ``at`` the constraint went from one stage to another
    (None: outside the pipeline)."""

    at: datetime
    from_name: str | None
    to_name: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CycleSpan:
    number: int
    title: str
    start: datetime
    end: datetime | None  # None while the cycle is open


def constraint_timeline(
    stage_names: Sequence[str],
    moves: Sequence[Move],
    cycles: Sequence[CycleSpan],
    start: datetime,
    end: datetime,
) -> Spec:
    """One row per stage; a bar where that stage was the constraint, cycles as
    shaded spans with their titles, and a marker at every move.

    ``moves`` in time order. Before the first move the constraint is the first
    move's ``from_name`` if that is a stage; if it is None, the record starts with
    that move (the first constraint found), so nothing is drawn before it. What
    came before ``start`` is not drawn either.
    """
    rows = [*stage_names, OUTSIDE]
    held = _held_spans(moves, start, end)
    # Plotly shows only the categories that have data: an invisible point per
    # row keeps every stage's lane, so a stage that never held it is seen to.
    data: list[Spec] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "lanes",
            "x": [plot_time(start)] * len(rows),
            "y": [text(name) for name in rows],
            "marker": {"opacity": 0},
            "hoverinfo": "skip",
        }
    ]
    for index, name in enumerate(rows):
        spans = [(s, e) for holder, s, e in held if (holder or OUTSIDE) == name]
        if not spans:
            continue
        colour = MUTED if name == OUTSIDE else stage_colour(index)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": text(name),
                "y": [text(name)] * len(spans),
                "base": [plot_time(s) for s, _ in spans],
                "x": [(e - s).total_seconds() * 1000 for s, e in spans],
                "marker": {"color": colour},
                "hovertext": [
                    f"{text(name)} held the constraint<br>"
                    f"{plot_time(s)} → {plot_time(e)} UTC"
                    for s, e in spans
                ],
                "hoverinfo": "text",
            }
        )
    if moves:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "moves",
                "x": [plot_time(move.at) for move in moves],
                "y": [text(move.to_name or OUTSIDE) for move in moves],
                "marker": {"symbol": "diamond", "size": 11, "color": DANGER},
                "hovertext": [
                    f"{plot_time(move.at)} UTC: {text(move.from_name or OUTSIDE)}"
                    f" → {text(move.to_name or OUTSIDE)}"
                    + (f"<br>{text(move.reason)}" if move.reason else "")
                    for move in moves
                ],
                "hoverinfo": "text",
            }
        )
    shapes, annotations = [], []
    for cycle in cycles:
        cycle_end = min(cycle.end or end, end)
        if cycle_end < start:
            continue
        shapes.append(
            {
                "type": "rect",
                "x0": plot_time(max(cycle.start, start)),
                "x1": plot_time(cycle_end),
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "fillcolor": ACCENT,
                "opacity": 0.08,
                "line": {"color": ACCENT, "width": 1},
                "layer": "below",
            }
        )
        # A title near the right edge ends where its span ends, so it stays in view.
        near_end = (max(cycle.start, start) - start) / (end - start) > 0.6
        annotations.append(
            {
                "x": plot_time(cycle_end if near_end else max(cycle.start, start)),
                "y": 1,
                "yref": "paper",
                "xanchor": "right" if near_end else "left",
                "yanchor": "bottom",
                # Titles of neighbouring cycles would overlap on a phone: the
                # number is the label, the title shows on hover.
                "text": f"Cycle {cycle.number}",
                "hovertext": text(f"Cycle {cycle.number}: {cycle.title}"),
                "captureevents": True,
                "showarrow": False,
                "font": {"color": ACCENT, "size": 11},
            }
        )
    return figure(
        data,
        layout(
            barmode="overlay",
            xaxis={
                "type": "date",
                "range": [plot_time(start), plot_time(end)],
                "gridcolor": LINE,
                # Months of cycles can hide an hour of moves: these zoom to the end.
                # Under the axis's right end: from its left end, beside long
                # stage names, the buttons ran past a phone's edge.
                "rangeselector": {
                    "x": 1,
                    "xanchor": "right",
                    "y": -0.22,
                    "yanchor": "top",
                    "buttons": [
                        {
                            "count": 1,
                            "step": "hour",
                            "stepmode": "backward",
                            "label": "1 h",
                        },
                        {
                            "count": 1,
                            "step": "day",
                            "stepmode": "backward",
                            "label": "1 d",
                        },
                        {
                            "count": 7,
                            "step": "day",
                            "stepmode": "backward",
                            "label": "1 w",
                        },
                        {
                            "count": 1,
                            "step": "month",
                            "stepmode": "backward",
                            "label": "1 m",
                        },
                        {"step": "all", "label": "All"},
                    ],
                },
            },
            yaxis={
                "type": "category",
                "categoryorder": "array",
                "categoryarray": [text(name) for name in rows],
                "autorange": "reversed",
                "automargin": True,
                "fixedrange": True,
            },
            shapes=shapes,
            annotations=annotations,
            margin={"l": 8, "r": RIGHT_MARGIN_PX, "t": 28, "b": 72},
        ),
        height=120 + 32 * len(rows),
    )


def _held_spans(
    moves: Sequence[Move], start: datetime, end: datetime
) -> list[tuple[str | None, datetime, datetime]]:
    """(holder, from, to) pieces of [start, end], clipped to it."""
    if not moves:
        return []
    pieces = []
    holder, since = moves[0].from_name, start
    for move in moves:
        if holder is not None or move is not moves[0]:
            pieces.append((holder, since, move.at))
        holder, since = move.to_name, move.at
    pieces.append((holder, since, end))
    return [
        (holder, max(s, start), min(e, end))
        for holder, s, e in pieces
        if min(e, end) > max(s, start)
    ]


def move_line(move: Move) -> Spec:
    """A dotted line across a time chart where the constraint moved."""
    return moment_line(move.at, MUTED, "dot", 1.5)


def move_label(move: Move) -> Spec:
    """Where the constraint went, above its move's line."""
    return {
        "x": plot_time(move.at),
        "y": 1,
        "yref": "paper",
        "yanchor": "bottom",
        "text": f"→ {text(move.to_name or OUTSIDE)}",
        "showarrow": False,
        "font": {"color": MUTED, "size": 11},
    }
