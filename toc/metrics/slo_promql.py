"""The error budgets of PromQL SLOs, asked of their systems' Prometheus.

budgets_evaluate (toc.metrics.slo_budgets) hands these SLOs over after the
others. Each SLO's good and total expressions are asked as range queries:
the newest hour minute by minute, the hours before it as subqueries over
their minutes, counted as Occurrences or as timeslices the way a ratio SLO's
rollups are. An SLO Prometheus did not answer for keeps its last figures.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

import requests
from django.utils import timezone

from toc.analysis.budget import (
    LONGEST_BURN_WINDOW_H,
    MINUTES_PER_HOUR,
    Tally,
    evaluate_budget,
)
from toc.metrics.promql import PrometheusFailed, api, number, one_series
from toc.metrics.slo_budgets import (
    DEFAULT_TIMESLICE_TARGET,
    HOUR,
    MINUTE,
    Evaluated,
    window_of,
)
from toc.systems.models import Budgeting, Slo

logger = logging.getLogger(__name__)

# PromQL SLOs are asked of Prometheus after the others, within this much of
# the task's 50 s; those left over keep their figures until the next run.
PROMQL_BUDGET_S = 25
PROMQL_TIMEOUT = "9s"


def promql_evaluate(
    slos: list[Slo], end: datetime
) -> tuple[list[Evaluated], list[int]]:
    """The budgets of PromQL SLOs, asked of their systems' Prometheus: the
    newest hour minute by minute, the hours before it as subqueries over their
    minutes (one point an hour, so 28 days are 672 points, not 40,320); and
    the ids of the SLOs it got no answer for."""
    evaluated, unanswered = [], []
    began = timezone.now()
    down: set[int] = set()  # sources that could not be reached in this run
    with requests.Session() as session:
        for slo in slos:
            source = slo.system.prometheus
            spent = (timezone.now() - began).total_seconds()
            if source.pk in down or spent > PROMQL_BUDGET_S:
                unanswered.append(slo.pk)
                continue
            window_start, hours = window_of(slo, end)
            span_h = max(hours, LONGEST_BURN_WINDOW_H)
            try:
                minutes, older = promql_tallies(session, source.url, slo, end, span_h)
            except PrometheusFailed as failed:
                logger.warning("SLO %s: %s", slo.pk, failed.words)
                unanswered.append(slo.pk)
                if failed.unreachable:
                    down.add(source.pk)
                continue
            budget = evaluate_budget(
                minutes=minutes,
                hours=older,
                window_hours=hours,
                # Live SLOs only, which budgets_evaluate picks by their objective.
                objective=cast(float, slo.objective),
            )
            evaluated.append(Evaluated(slo, budget, window_start, hours))
    return evaluated, unanswered


def promql_tallies(
    session: requests.Session, url: str, slo: Slo, end: datetime, span_hours: int
) -> tuple[list[Tally], list[Tally]]:
    """The SLO's tallies from Prometheus, as slo_budgets.stage_tallies gives
    them. A point at `t` stands for the minute (or hour) ending at `t`, as a
    rate over the minute before `t` does."""
    good, total = f"({slo.promql_good})", f"({slo.promql_total})"
    # The hour's 60 minutes: Prometheus 2 counts both ends of a range of 1h.
    if slo.budgeting == Budgeting.OCCURRENCES:
        # Rates per second: a minute holds 60 times as many events.
        per_minute = (f"{good} * 60", f"{total} * 60")
        per_hour = (
            f"sum_over_time({good}[59m59s:1m]) * 60",
            f"sum_over_time({total}[59m59s:1m]) * 60",
        )
    else:
        target = slo.timeslice_target or DEFAULT_TIMESLICE_TARGET
        # `>= 0` drops the minutes without events (0 / 0 is NaN).
        ratio = f"(({good} / {total}) >= 0)"
        met = f"({ratio} >= bool {target!r})"
        per_minute = (met, f"({ratio} * 0 + 1)")
        per_hour = (
            f"sum_over_time({met}[59m59s:1m])",
            f"count_over_time({ratio}[59m59s:1m])",
        )
    minutes = [Tally()] * MINUTES_PER_HOUR
    for age, tally in _asked(
        session, url, per_minute, end - (MINUTES_PER_HOUR - 1) * MINUTE, end, MINUTE
    ):
        minutes[age] = tally
    hours = [Tally()] * (span_hours - 1)
    if hours:
        first, last = end - (span_hours - 1) * HOUR, end - HOUR
        for age, tally in _asked(session, url, per_hour, first, last, HOUR):
            hours[age - 1] = tally
    return minutes, hours


def _asked(
    session: requests.Session,
    url: str,
    queries: tuple[str, str],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> list[tuple[int, Tally]]:
    """The good and total of each step from `start` to `end`, by its age in
    steps before `end`; steps where either has no value are left out."""
    answers = []
    for query in queries:
        params = {
            "query": query,
            "start": start.timestamp(),
            "end": end.timestamp(),
            "step": step.total_seconds(),
            "timeout": PROMQL_TIMEOUT,
        }
        # The pull's own reading of an answer (one series, NaN as no value).
        points = one_series(api(session, url, "/api/v1/query_range", params))
        answers.append(
            {
                round(float(t)): number(v)
                for t, v in (p for p in points if isinstance(p, list) and len(p) == 2)
            }
        )
    good, total = answers
    found = []
    for moment, value in good.items():
        whole = total.get(moment)
        if value is None or whole is None:
            continue
        age = round((end.timestamp() - moment) / step.total_seconds())
        found.append((age, Tally(value, whole)))
    return found
