"""One live SLO over its window: the error budget left, and how fast it burns.

The budget is a share of the errors the objective allows: 100% left when
nothing went wrong, 0 when the window has had exactly its allowance, below 0
once it has had more. A burn rate of 1× spends the budget in exactly one
window; the alert thresholds (14.4×, 6×) are drawn so that a peak reads
against the rule it would break."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from toc.analysis.budget import ALERT_RULES, PAGE
from toc.charts.theme import (
    ACCENT,
    DANGER,
    INK,
    MUTED,
    WARN,
    Spec,
    plot_time,
    text,
    time_figure,
)
from toc.lib import formats

HEIGHT = 240
_time_figure = partial(time_figure, height=HEIGHT)


@dataclass(frozen=True, slots=True)
class BurnThreshold:
    """A burn rate an alert rule fires at, and what it is called beside its line."""

    rate: float
    label: str


# The rules that page (the SRE workbook's fast burns: 14.4×, 6×); the slower
# ticket rules sit at or under 3×, near the 1× line.
ALERT_THRESHOLDS = tuple(
    BurnThreshold(rule.factor, f"{formats.significant(rule.factor)}× pages")
    for rule in ALERT_RULES
    if rule.severity == PAGE
)


def budget_charts(
    t: Sequence[datetime],
    window: tuple[datetime, datetime],
    budget_remaining: Sequence[float | None],
    burn_rate_1h: Sequence[float | None],
    thresholds: Sequence[BurnThreshold] = ALERT_THRESHOLDS,
) -> dict[str, Spec]:
    """The SLO page's charts, keyed ``budget`` and ``burn``.

    ``budget_remaining`` (a fraction of the budget, negative once overspent)
    and ``burn_rate_1h`` (a factor) are aligned with ``t``, None where the
    hour had no data; ``window`` is the range both charts show.
    """
    x = [plot_time(moment) for moment in t]
    x_range = [plot_time(window[0]), plot_time(window[1])]
    return {
        "budget": _budget_figure(x, x_range, list(budget_remaining)),
        "burn": _burn_figure(x, x_range, list(burn_rate_1h), thresholds),
    }


def _budget_figure(x: list[str], x_range: list[str], left: list[float | None]) -> Spec:
    known = [value for value in left if value is not None]
    lowest = min([0.0, *known])
    # Room below 0 only when the budget went there; 100% left is the top.
    bottom = lowest - 0.05 * (1 - lowest) if lowest < 0 else -0.05
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": left,
            "name": "Budget left",
            "line": {"color": ACCENT, "width": 1.5},
            "connectgaps": False,
            "hovertemplate": "%{y:.0%} of the error budget left<extra></extra>",
        }
    ]
    annotations = []
    if lowest < 0:
        # Below the zero line the window has had more errors than it allows.
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": [None if value is None else min(value, 0.0) for value in left],
                "name": "Spent past the budget",
                "line": {"color": DANGER, "width": 0},
                "fill": "tozeroy",
                "fillcolor": "rgba(180, 35, 24, 0.25)",
                "connectgaps": False,
                "hoverinfo": "skip",
            }
        )
        # At the left, where the line is still high, clear of the zero line's label.
        overspent = _line_label(lowest, "below 0: spent past the budget", DANGER)
        annotations.append({**overspent, "x": 0, "xanchor": "left"})
    return _time_figure(
        x_range,
        data,
        {"range": [bottom, max([1.05, *known])], "tickformat": ".0%"},
        shapes=[_level(0.0, INK, "solid")],
        annotations=[_line_label(0.0, "budget spent", INK), *annotations],
    )


def _burn_figure(
    x: list[str],
    x_range: list[str],
    rates: list[float | None],
    thresholds: Sequence[BurnThreshold],
) -> Spec:
    peak = max([value for value in rates if value is not None], default=0.0)
    top = max([1.0, *(threshold.rate for threshold in thresholds)])
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": rates,
            "name": "Burn rate over 1 h",
            "line": {"color": ACCENT, "width": 1.5},
            "connectgaps": False,
            "hovertemplate": "burning %{y:.2f}× over the hour<extra></extra>",
        }
    ]
    shapes = [_level(1.0, INK, "dash")]
    annotations = [_line_label(1.0, "1× lasts the window", INK)]
    for threshold, colour in zip(
        thresholds, _threshold_colours(thresholds), strict=True
    ):
        shapes.append(_level(threshold.rate, colour, "dot"))
        annotations.append(_line_label(threshold.rate, threshold.label, colour))
    return _time_figure(
        x_range,
        data,
        {"range": [0, max(top, peak) * 1.1], "ticksuffix": "×"},
        shapes=shapes,
        annotations=annotations,
    )


def _threshold_colours(thresholds: Sequence[BurnThreshold]) -> list[str]:
    """The highest threshold red, the others amber."""
    highest = max((threshold.rate for threshold in thresholds), default=0.0)
    return [DANGER if t.rate == highest else WARN for t in thresholds]


def _level(y: float, colour: str, dash: str) -> Spec:
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": y,
        "y1": y,
        "line": {"color": colour, "dash": dash, "width": 1},
    }


def _line_label(y: float, words: str, colour: str) -> Spec:
    """Words at the right end of a level line, above it."""
    return {
        "xref": "paper",
        "x": 1,
        "xanchor": "right",
        "yref": "y",
        "y": y,
        "yanchor": "bottom",
        "text": text(words),
        "showarrow": False,
        "font": {"color": colour if colour != INK else MUTED, "size": 11},
        "bgcolor": "rgba(255, 255, 255, 0.7)",
    }
