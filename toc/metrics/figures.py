"""The figures of a system's pages: reads what each needs, then calls toc.charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from toc.charts.ledger import headroom_bars, pipeline_flow
from toc.charts.series import stage_timeseries
from toc.charts.slo import SloGauge, slo_bullets
from toc.charts.timeline import CycleSpan, Move, constraint_timeline
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.steps import measure_slos
from toc.metrics.series import peak_series
from toc.systems.models import Stage, System

# The most moves the timeline draws; a system that flaps more than this has its
# older moves in the events API.
TIMELINE_MOVES = 500


@dataclass(frozen=True, slots=True)
class ChartRange:
    label: str
    span: timedelta
    bucket_s: int
    bucket_label: str | None  # None: one point per minute, as measured
    refresh_s: int


# About 300 points a line whatever the range: a month of minutes for ten stages
# would be a megabyte of JSON, and peaks per bucket keep what matters.
RANGES = {
    "hour": ChartRange("Hour", timedelta(hours=1), 60, None, 10),
    "day": ChartRange("Day", timedelta(days=1), 300, "5 min", 60),
    "week": ChartRange("Week", timedelta(days=7), 1800, "30 min", 300),
    "month": ChartRange("Month", timedelta(days=30), 7200, "2 h", 600),
}
DEFAULT_RANGE = "hour"


def ledger_figures(ledger: dict, constraint: str | None = None) -> dict:
    """The flow and headroom charts, marking ``constraint`` (a slug, the stage the
    card names) or else the window's verdict."""
    return {
        "flow": pipeline_flow(ledger, constraint),
        "headroom": headroom_bars(ledger, constraint),
    }


def series_figure(
    system: System, stages: list[Stage], ledger: dict, range_key: str
) -> dict:
    """Peaks per bucket up to the last processed sample (or now, before any)."""
    chart_range = RANGES[range_key]
    last = parse_datetime(ledger["window_end"] or "") or timezone.now()
    # The range ends with the bucket holding the last sample, so it has whole buckets.
    bucket_s = chart_range.bucket_s
    end = datetime.fromtimestamp(
        (int(last.timestamp()) // bucket_s + 1) * bucket_s, UTC
    )
    start = end - chart_range.span
    series = peak_series(stages, start, end, chart_range.bucket_s)
    events = system.constraint_events.filter(at__gte=start, at__lt=end).order_by("at")
    moves = _moves(events, stage_names(ledger))
    return stage_timeseries(
        series["t"], series["stages"], moves, chart_range.bucket_label
    )


def stage_names(ledger: dict) -> dict[str, str]:
    """Slug → name: events keep slugs (stable across renames), charts show names."""
    return {row["stage"]: row["name"] for row in ledger["stages"]}


def _moves(events, names: dict[str, str]) -> list[Move]:
    return [
        Move(
            at=event.at,
            from_name=names.get(event.from_stage, event.from_stage) or None,
            to_name=names.get(event.to_stage, event.to_stage) or None,
            reason=event.reason,
        )
        for event in events
    ]


def slo_figure(system: System, ledger: dict) -> tuple[Cycle | None, dict | None]:
    """The SLOs of the cycle in progress (else the latest), measured now."""
    cycles = system.cycles.order_by("-number")
    cycle = cycles.filter(status=CycleStatus.OPEN).first() or cycles.first()
    if cycle is None:
        return None, None
    slos = [slo for slo in cycle.slos.all() if slo.target is not None]
    if not slos:
        return cycle, None
    measure_slos(slos, ledger)
    gauges = [
        SloGauge(
            name=slo.name,
            comparator=slo.comparator,
            target=slo.target,
            measured=slo.measured,
            unit=slo.unit,
            status=slo.status,
        )
        for slo in slos
    ]
    return cycle, slo_bullets(gauges)


def timeline_figure(system: System, ledger: dict, now: datetime) -> dict | None:
    """From the first constraint found or cycle opened until now; None before
    either."""
    events = list(system.constraint_events.order_by("-at")[:TIMELINE_MOVES])
    events.reverse()
    cycles = list(system.cycles.order_by("number"))
    if not events and not cycles:
        return None
    start = min([e.at for e in events] + [c.created for c in cycles])
    # A little room on the left, so the first marker is not on the edge.
    start -= max((now - start) / 50, timedelta(minutes=1))
    return constraint_timeline(
        [row["name"] for row in ledger["stages"]],
        _moves(events, stage_names(ledger)),
        [CycleSpan(c.number, c.title, c.created, c.closed_at) for c in cycles],
        start,
        now,
    )
