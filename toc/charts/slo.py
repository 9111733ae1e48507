"""Each SLO as a bullet: the measured value as a bar, the target as a tick."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toc.analysis.slo import Comparator, SloStatus
from toc.charts.theme import DANGER, INK, MUTED, NEUTRAL, OK, Spec, figure, layout, text
from toc.lib import formats

STATUS_COLOURS = {SloStatus.MET: OK, SloStatus.VIOLATED: DANGER}
ROW_HEIGHT = 64


@dataclass(frozen=True, slots=True)
class SloGauge:
    name: str
    comparator: str  # as stored: "<=", ">=", …
    target: float
    measured: float | None
    unit: str
    status: SloStatus


def slo_bullets(slos: Sequence[SloGauge]) -> Spec:
    """One row per SLO, each on its own axis, since every SLO has its own unit."""
    data, axes, annotations = [], {}, []
    count = len(slos)
    for index, slo in enumerate(slos):
        suffix = "" if index == 0 else str(index + 1)
        top = 1 - index / count
        bottom = 1 - (index + 1) / count
        axes[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}",
            "range": [0, _scale_end(slo)],
            "fixedrange": True,
            "showgrid": False,
            "ticksuffix": text(formats.unit_suffix(slo.unit)),
            "tickfont": {"size": 10, "color": MUTED},
        }
        # Each row: the name on top, the bullet, then the axis ticks.
        axes[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": [bottom + 0.4 / count, top - 0.3 / count],
            "fixedrange": True,
            "showticklabels": False,
        }
        label = text(slo.name)
        annotations.append(
            {
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": top,
                "xanchor": "left",
                "yanchor": "top",
                "text": f"{label} · {slo.status}",
                "showarrow": False,
                "font": {"color": STATUS_COLOURS.get(slo.status, MUTED), "size": 12},
            }
        )
        refs = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        summary = _summary(slo)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": "range",
                "x": [_scale_end(slo)],
                "y": [label],
                "width": 0.9,
                "marker": {"color": "#eef1f6"},
                "hoverinfo": "skip",
                **refs,
            }
        )
        if slo.measured is not None:
            data.append(
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": "measured",
                    "x": [slo.measured],
                    "y": [label],
                    "width": 0.4,
                    "marker": {"color": STATUS_COLOURS.get(slo.status, NEUTRAL)},
                    "hovertext": [summary],
                    "hoverinfo": "text",
                    **refs,
                }
            )
        else:
            annotations.append(
                {
                    "xref": f"x{suffix} domain",
                    "yref": f"y{suffix}",
                    "x": 0.01,
                    "y": label,
                    "xanchor": "left",
                    "text": "not measured yet",
                    "showarrow": False,
                    "font": {"color": MUTED, "size": 11},
                }
            )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "target",
                "x": [slo.target],
                "y": [label],
                "marker": {
                    "symbol": "line-ns",
                    "size": 26,
                    "line": {"width": 3, "color": INK},
                },
                "hovertext": [summary],
                "hoverinfo": "text",
                **refs,
            }
        )
    return figure(
        data,
        layout(
            barmode="overlay",
            annotations=annotations,
            # Room on the right for half the last tick's label and its unit.
            margin={"l": 8, "r": 44, "t": 4, "b": 4},
            **axes,
        ),
        height=20 + ROW_HEIGHT * max(count, 1),
    )


def _scale_end(slo: SloGauge) -> float:
    largest = max(slo.target, slo.measured or 0)
    return largest * 1.25 if largest > 0 else 1


def _summary(slo: SloGauge) -> str:
    unit = f" {text(slo.unit)}" if slo.unit else ""
    goal = f"{Comparator(slo.comparator).label} {formats.number(slo.target)}{unit}"
    measured = (
        "not measured yet"
        if slo.measured is None
        else f"measured {formats.number(slo.measured)}{unit}"
    )
    return f"{text(slo.name)}<br>Target: {goal}<br>{measured} ({slo.status})"
