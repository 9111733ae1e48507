"""The figures of a system's pages: reads what each needs, then calls toc.charts.
The SLO and timeline figures, which the cycle pages draw too, are in
toc.cycles.figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from toc.charts.ledger import headroom_bars, pipeline_flow
from toc.charts.series import stage_timeseries
from toc.cycles.figures import event_moves, stage_names
from toc.metrics.series import peak_series
from toc.systems.models import Stage, System


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
    moves = event_moves(events, stage_names(ledger))
    return stage_timeseries(
        series["t"], series["stages"], moves, chart_range.bucket_label
    )
