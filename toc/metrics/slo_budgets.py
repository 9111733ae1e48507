"""The error budgets of live SLOs, from the stages' minute rollups.

The beat runs `budgets_evaluate` every minute (toc/celery.py). It reads each
stage's rollups once, in one query that tallies every live SLO on the stage
at once: per SLO a good and a total column, grouped into the newest hour's
minutes and the hours before it, back to the longest window those SLOs need.
toc.analysis.budget turns the tallies into figures, which are written to
metrics.SloBudget for pages and the API to read. The cost is one pass over
the window's rollups per stage (benchmarks/README.md, part slo).

A minute with data is one slice. A threshold SLO's slice is good when the
minute's value (FIELD_SQL) stands in the SLO's comparator to its threshold.
A ratio SLO (good share = 1 - bad / total) counts events under Occurrences,
and under Timeslices or RatioTimeslices counts minutes whose good share
reaches `timeslice_target`. A PromQL SLO is asked of its system's Prometheus
(toc.metrics.slo_promql), good and total counted the same two ways.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.db import connection
from django.utils import timezone

from toc.analysis.budget import (
    LONGEST_BURN_WINDOW_H,
    MINUTES_PER_HOUR,
    Budget,
    Tally,
    evaluate_budget,
)
from toc.analysis.slo import Comparator
from toc.metrics.models import Rollup, SloBudget
from toc.systems.models import (
    LIVE_INDICATORS,
    RATIO_FIELDS,
    THRESHOLD_FIELDS,
    Budgeting,
    Calendar,
    Indicator,
    Slo,
)

# A minute's value of each field, over the metrics_rollup row.
FIELD_SQL = {
    "latency_p95_ms": "latency_p95_max",
    "throughput": 'throughput_sum / "count"',
    "capacity": 'capacity_sum / "count"',
    "utilization": "utilization_sum / NULLIF(utilization_count, 0)",
    "blocked": "blocked_sum / NULLIF(blocked_count, 0)",
    "queue_depth": "last_queue_depth",
    "errors": "errors",
    "dropped": "dropped",
}
# A minute's events of each field a ratio takes: rates are per second.
EVENTS_SQL = {
    "throughput": 'throughput_sum / "count" * 60',
    "capacity": 'capacity_sum / "count" * 60',
    "errors": "errors::float8",
    "dropped": "dropped::float8",
}


# The same, over a row of ROLLUP_COLUMNS, for SQLite (development data).
def _mean(total: str, count: str) -> Callable[[dict], float | None]:
    return lambda row: row[total] / row[count] if row[count] else None


FIELD_VALUE: dict[str, Callable[[dict], float | None]] = {
    "latency_p95_ms": lambda row: row["latency_p95_max"],
    "throughput": _mean("throughput_sum", "count"),
    "capacity": _mean("capacity_sum", "count"),
    "utilization": _mean("utilization_sum", "utilization_count"),
    "blocked": _mean("blocked_sum", "blocked_count"),
    "queue_depth": lambda row: row["last_queue_depth"],
    "errors": lambda row: row["errors"],
    "dropped": lambda row: row["dropped"],
}
EVENTS_VALUE: dict[str, Callable[[dict], float]] = {
    "throughput": lambda row: row["throughput_sum"] / row["count"] * 60,
    "capacity": lambda row: row["capacity_sum"] / row["count"] * 60,
    "errors": lambda row: float(row["errors"]),
    "dropped": lambda row: float(row["dropped"]),
}
ROLLUP_COLUMNS = (
    "minute",
    "count",
    "throughput_sum",
    "capacity_sum",
    "utilization_sum",
    "utilization_count",
    "blocked_sum",
    "blocked_count",
    "latency_p95_max",
    "last_queue_depth",
    "errors",
    "dropped",
)
assert set(FIELD_SQL) == set(FIELD_VALUE) == set(THRESHOLD_FIELDS)
assert set(EVENTS_SQL) == set(EVENTS_VALUE) == set(RATIO_FIELDS)

COMPARATOR_SQL = {
    "<=": "{v} <= %s",
    "<": "{v} < %s",
    ">=": "{v} >= %s",
    ">": "{v} > %s",
    # As toc.analysis.slo compares "==": within a relative 1e-9.
    "==": "ABS({v} - %s) <= 1e-9 * GREATEST(ABS({v}), ABS(%s))",
}
DEFAULT_TIMESLICE_TARGET = 0.99
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def window_of(slo: Slo, end: datetime) -> tuple[datetime, int]:
    """The start of the SLO's window ending at `end`, and its length in whole
    hours counted back from `end` (a calendar window's first hour may hold
    minutes from before its start: hours are counted from `end`)."""
    if slo.calendar == Calendar.ROLLING:
        hours = slo.window_days * 24
        return end - timedelta(hours=hours), hours
    local = timezone.localtime(end)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if slo.calendar == Calendar.WEEK:
        start = midnight - timedelta(days=local.weekday())
    else:
        start = midnight.replace(day=1)
    if start >= end:  # the window's very first minute: nothing closed yet
        return start, 1
    return start, max(1, math.ceil((end - start) / timedelta(hours=1)))


@dataclass
class Column:
    """One SLO's good and total, as SQL aggregates with their parameters."""

    good: str
    total: str
    params: list


def column_of(slo: Slo) -> Column | None:
    """The SLO's tally over its stage's rollups as SQL, or None if it reads
    nothing toc keeps."""
    if slo.indicator == Indicator.THRESHOLD:
        value = FIELD_SQL.get(slo.field)
        rule = COMPARATOR_SQL.get(slo.comparator)
        if value is None or rule is None or slo.threshold is None:
            return None
        condition = rule.format(v=value)
        params = [slo.threshold] * condition.count("%s")
        return Column(
            good=f"COUNT(*) FILTER (WHERE {condition})",
            total=f"COUNT({value})",
            params=params,
        )
    if slo.indicator == Indicator.RATIO:
        bad, total = EVENTS_SQL.get(slo.field), EVENTS_SQL.get(slo.total_field)
        if bad is None or total is None:
            return None
        if slo.budgeting == Budgeting.OCCURRENCES:
            return Column(
                good=f"SUM(GREATEST({total} - {bad}, 0))",
                total=f"SUM({total})",
                params=[],
            )
        target = slo.timeslice_target or DEFAULT_TIMESLICE_TARGET
        return Column(
            good=(
                f"COUNT(*) FILTER (WHERE {total} > 0 AND 1 - {bad} / ({total}) >= %s)"
            ),
            total=f"COUNT(*) FILTER (WHERE {total} > 0)",
            params=[target],
        )
    return None


@dataclass
class Evaluated:
    slo: Slo
    budget: Budget
    window_start: datetime
    window_hours: int


Tallies = tuple[list[Tally], list[Tally]]


def stage_tallies(
    stage_id: int, slos: list[Slo], start: datetime, end: datetime
) -> list[Tallies]:
    """Each SLO's tallies: the newest hour's minutes and the hours before it,
    newest first, from the stage's rollups in [start, end)."""
    if connection.vendor == "postgresql":
        # system_evaluate binds only the SLOs that have a column.
        columns = cast("list[Column]", [column_of(slo) for slo in slos])
        return _tallies_sql(stage_id, columns, start, end)
    return tallies_portable(stage_id, slos, start, end)


def _empty(start: datetime, end: datetime) -> Tallies:
    span_hours = math.ceil((end - start) / HOUR)
    return [Tally()] * MINUTES_PER_HOUR, [Tally()] * max(span_hours - 1, 0)


def _place(tallies: Tallies, bucket: datetime, end: datetime, tally: Tally) -> None:
    """Puts a minute's (or an hour's, by its start) tally in its place."""
    minutes, hours = tallies
    if bucket >= end - HOUR:
        minutes[(end - bucket) // MINUTE - 1] = tally
    else:  # the start of an hour; the one just before the newest is 0
        index = (end - bucket) // HOUR - 2
        if 0 <= index < len(hours):
            hours[index] = tally


def tallies_portable(
    stage_id: int, slos: list[Slo], start: datetime, end: datetime
) -> list[Tallies]:
    """As _tallies_sql counts, in Python over the rows (SQLite: development
    data, and the second implementation the tests hold the SQL to)."""
    rows = Rollup.objects.filter(
        stage_id=stage_id, minute__gte=start, minute__lt=end
    ).values(*ROLLUP_COLUMNS)
    sums: list[dict[datetime, Tally]] = [defaultdict(Tally) for _ in slos]
    for row in rows:
        minute = row["minute"]
        if minute < end - HOUR:
            # As date_bin('1 hour', minute, end): its hour's start before end.
            minute = end + (minute - end) // HOUR * HOUR
        for index, slo in enumerate(slos):
            sums[index][minute] += _slice(slo, row)
    result = []
    for by_bucket in sums:
        tallies = _empty(start, end)
        for bucket, tally in by_bucket.items():
            _place(tallies, bucket, end, tally)
        result.append(tallies)
    return result


def _slice(slo: Slo, row: dict) -> Tally:
    """One minute's good and total for the SLO, by column_of's rules."""
    if slo.indicator == Indicator.THRESHOLD:
        value = FIELD_VALUE[slo.field](row)
        if value is None:
            return Tally()
        # column_of, which system_evaluate asks first, needs a threshold.
        good = Comparator(slo.comparator).holds(value, cast(float, slo.threshold))
        return Tally(float(good), 1.0)
    bad, total = EVENTS_VALUE[slo.field](row), EVENTS_VALUE[slo.total_field](row)
    if slo.budgeting == Budgeting.OCCURRENCES:
        return Tally(max(total - bad, 0.0), total)
    if total <= 0:
        return Tally()
    target = slo.timeslice_target or DEFAULT_TIMESLICE_TARGET
    return Tally(float(1 - bad / total >= target), 1.0)


def _tallies_sql(
    stage_id: int, columns: list[Column], start: datetime, end: datetime
) -> list[Tallies]:
    """stage_tallies in one query (one read of each row, however many SLOs
    the stage has)."""
    selects, params = [], []
    for column in columns:
        selects.append(f"COALESCE({column.good}, 0), COALESCE({column.total}, 0)")
    for column in columns:
        params.extend(column.params)
    # The newest hour by minute, the hours before it in hours counted back
    # from `end` (date_bin's origin): cheaper per row than arithmetic on ages.
    sql = f"""
        SELECT CASE WHEN minute >= %s THEN minute
                    ELSE date_bin('1 hour', minute, %s) END AS bucket,
            {", ".join(selects)}
        FROM metrics_rollup
        WHERE stage_id = %s AND minute >= %s AND minute < %s
        GROUP BY bucket
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [end - HOUR, end, *params, stage_id, start, end])
        rows = cursor.fetchall()
    tallies = [_empty(start, end) for _ in columns]
    for bucket, *figures in rows:
        for index, each in enumerate(tallies):
            good, total = figures[2 * index], figures[2 * index + 1]
            _place(each, bucket, end, Tally(float(good), float(total)))
    return tallies


def system_evaluate(slos: list[Slo], end: datetime) -> list[Evaluated]:
    """The budgets of one system's live SLOs (those it can read), reading
    each stage's rollups once for all the SLOs on it."""
    stage_ids = dict(slos[0].system.stages.values_list("slug", "id"))
    on_stage: dict[int, list[Slo]] = defaultdict(list)
    for slo in slos:
        if slo.stage in stage_ids and column_of(slo) is not None:
            on_stage[stage_ids[slo.stage]].append(slo)
    evaluated = []
    for stage_id, bound in on_stage.items():
        windows = [window_of(slo, end) for slo in bound]
        longest_h = max(max(hours for _, hours in windows), LONGEST_BURN_WINDOW_H)
        start = end - timedelta(hours=longest_h)
        tallies = stage_tallies(stage_id, bound, start, end)
        for slo, (window_start, hours), (minutes, older) in zip(
            bound, windows, tallies, strict=True
        ):
            budget = evaluate_budget(
                minutes=minutes,
                hours=older,
                window_hours=hours,
                # Live SLOs only, which budgets_evaluate picks by their objective.
                objective=cast(float, slo.objective),
            )
            evaluated.append(Evaluated(slo, budget, window_start, hours))
    return evaluated


def budgets_evaluate(now: datetime | None = None) -> int:
    """Evaluates every live SLO over the minutes closed by `now` and stores
    the figures; returns how many were stored."""
    now = now or timezone.now()
    end = now.replace(second=0, microsecond=0)
    live = (
        Slo.objects.filter(indicator__in=LIVE_INDICATORS, objective__isnull=False)
        .select_related("system__prometheus")
        .order_by("system_id", "id")
    )
    by_system: dict[int, list[Slo]] = defaultdict(list)
    asking: list[Slo] = []
    for slo in live:
        if slo.indicator != Indicator.PROMQL:
            by_system[slo.system_id].append(slo)
        elif hasattr(slo.system, "prometheus"):
            asking.append(slo)
    previous = {
        budget.slo_id: budget
        for budget in SloBudget.objects.only("slo_id", "alert", "alert_since")
    }
    rows = []
    for slos in by_system.values():
        for done in system_evaluate(slos, end):
            rows.append(_row(done, end, now, previous.get(done.slo.pk)))
    # Imported here: slo_promql reads this module's windows and Evaluated.
    from toc.metrics.slo_promql import promql_evaluate

    evaluated, unanswered = promql_evaluate(asking, end)
    for done in evaluated:
        rows.append(_row(done, end, now, previous.get(done.slo.pk)))
    SloBudget.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["slo"],
        update_fields=[
            "computed_at",
            "window_start",
            "window_end",
            "good",
            "total",
            "compliance",
            "budget_remaining",
            "burn_rates",
            "alert",
            "alert_since",
            "series",
        ],
    )
    # An SLO no longer live, or no longer readable, keeps no stale figures;
    # one Prometheus did not answer for keeps its last (computed_at says when).
    SloBudget.objects.exclude(
        slo_id__in=[row.slo_id for row in rows] + unanswered
    ).delete()
    return len(rows)


# Escalating from a ticket to a page starts a new alert (one more event);
# easing from a page to a ticket continues the one that started.
_RANK = {"": 0, "ticket": 1, "page": 2}


def _row(
    done: Evaluated, end: datetime, now: datetime, before: SloBudget | None
) -> SloBudget:
    budget = done.budget
    alert_since = None
    if budget.alert:
        alert_since = end
        if (
            before is not None
            and before.alert
            and _RANK[budget.alert] <= _RANK[before.alert]
            and before.alert_since
        ):
            alert_since = before.alert_since
    hours = done.window_hours
    return SloBudget(
        slo=done.slo,
        computed_at=now,
        window_start=done.window_start,
        window_end=end,
        good=budget.good,
        total=budget.total,
        compliance=budget.compliance,
        budget_remaining=budget.budget_remaining,
        burn_rates=budget.burn_rates,
        alert=budget.alert,
        alert_since=alert_since,
        series={
            "t": [
                (end - timedelta(hours=hours - 1 - index)).isoformat()
                for index in range(hours)
            ],
            "budget_remaining": budget.hourly_budget_remaining,
            "burn_rate_1h": budget.hourly_burn_rate,
        },
    )
