"""Which features earn their compute: value score per feature and the compute
they account for, pruning candidates set apart."""

from __future__ import annotations

import math
from collections.abc import Sequence

from toc.analysis.features import FeatureValue
from toc.charts.theme import (
    ACCENT,
    DANGER,
    INK,
    LINE,
    SIGNIFICANT,
    Spec,
    figure,
    layout,
    text,
)
from toc.lib import formats


def feature_value_chart(values: Sequence[FeatureValue]) -> Spec:
    """Bars of value score, best first; a line of the cumulative share of compute.

    ``values`` as ``feature_values`` returns them (sorted, best first). A free
    feature that matters has an infinite score: its bar is drawn at the top of
    the scale and labelled "free".
    """
    finite = [v.score for v in values if math.isfinite(v.score)]
    top = max(finite, default=1) * 1.1 or 1
    names = [text(v.name) for v in values]
    data: list[Spec] = [
        {
            "type": "bar",
            "name": "value score",
            "x": names,
            "y": [v.score if math.isfinite(v.score) else top for v in values],
            "marker": {
                "color": [DANGER if v.prune_candidate else ACCENT for v in values]
            },
            "text": [
                "free" if not math.isfinite(v.score) else formats.significant(v.score)
                for v in values
            ],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertext": [_hover(v) for v in values],
            "hoverinfo": "text",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "cumulative share of compute",
            "x": names,
            "y": [v.cumulative_cost_share for v in values],
            "yaxis": "y2",
            "line": {"color": INK, "width": 2},
            "marker": {"size": 6},
            "hovertemplate": "%{y:.0%} of all compute<extra></extra>",
        },
    ]
    # A candidate's bar is often too short to see its colour: shade its column.
    shapes, annotations = [], []
    for index, value in enumerate(values):
        if value.prune_candidate:
            shapes.append(
                {
                    "type": "rect",
                    "x0": index - 0.5,
                    "x1": index + 0.5,
                    "y0": 0,
                    "y1": 1,
                    "yref": "paper",
                    "fillcolor": DANGER,
                    "opacity": 0.08,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
            annotations.append(
                {
                    "x": index,
                    "y": 1,
                    "yref": "paper",
                    "yanchor": "top",
                    "text": "prune?",
                    "showarrow": False,
                    "font": {"color": DANGER, "size": 11},
                }
            )
    return figure(
        data,
        layout(
            shapes=shapes,
            annotations=annotations,
            showlegend=True,
            legend={"orientation": "h", "y": 1.12},
            xaxis={"type": "category", "automargin": True, "fixedrange": True},
            yaxis={
                "title": {"text": "Value score (importance / cost)"},
                "range": [0, top * 1.15],
                "tickformat": SIGNIFICANT,
                "gridcolor": LINE,
                "fixedrange": True,
            },
            yaxis2={
                "title": {"text": "Cumulative share of compute"},
                "overlaying": "y",
                "side": "right",
                "range": [0, 1.05],
                "tickformat": ".0%",
                "dtick": 0.25,
                "showgrid": False,
                "fixedrange": True,
            },
            margin={"l": 64, "r": 64, "t": 40, "b": 40},
        ),
        height=340,
    )


def _hover(value: FeatureValue) -> str:
    lines = [
        text(value.name),
        f"{formats.percent(value.importance_share)} of the importance, "
        f"{formats.percent(value.cost_share)} of the compute",
    ]
    if value.prune_candidate:
        lines.append("Pruning candidate: contributes little and costs compute.")
    return "<br>".join(lines)
