"""Little's law (L = λW) applied to the people who act on the pipeline's alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from toc.analysis.validation import require_non_negative

MINUTES_PER_HOUR = 60


@dataclass(frozen=True, slots=True)
class DecisionBudget:
    """``in_progress`` is L: investigations open at once, on average over the working
    day, i.e. analysts busy on average. ``utilization`` = L / analysts; the budget
    ``holds`` when the work fits the hours available (utilization <= 1)."""

    alerts_per_day: float
    minutes_per_investigation: float
    analysts: float
    hours_per_analyst_per_day: float
    in_progress: float
    sustainable_alerts_per_day: float
    utilization: float
    holds: bool


def decision_budget(
    alerts_per_day: float,
    minutes_per_investigation: float,
    analysts: float,
    hours_per_analyst_per_day: float = 8.0,
) -> DecisionBudget:
    """Alerts arrive at λ = alerts per working minute and each takes W minutes.

    ``analysts`` may be fractional (part-time people count as fractions).
    """
    require_non_negative("alerts_per_day", alerts_per_day)
    require_non_negative("analysts", analysts)
    if not (math.isfinite(minutes_per_investigation) and minutes_per_investigation > 0):
        raise ValueError("minutes_per_investigation must be a finite number > 0")
    if not 0 < hours_per_analyst_per_day <= 24:
        raise ValueError("hours_per_analyst_per_day must be in (0, 24]")
    working_minutes = hours_per_analyst_per_day * MINUTES_PER_HOUR
    in_progress = alerts_per_day / working_minutes * minutes_per_investigation
    sustainable = analysts * working_minutes / minutes_per_investigation
    if analysts > 0:
        utilization = in_progress / analysts
    else:
        utilization = math.inf if in_progress > 0 else 0.0
    return DecisionBudget(
        alerts_per_day=alerts_per_day,
        minutes_per_investigation=minutes_per_investigation,
        analysts=analysts,
        hours_per_analyst_per_day=hours_per_analyst_per_day,
        in_progress=in_progress,
        sustainable_alerts_per_day=sustainable,
        utilization=utilization,
        holds=utilization <= 1,
    )
