"""The figures of a system's pages: reads what each needs, then calls toc.charts.
The SLO and timeline figures, which the cycle pages draw too, are in
toc.cycles.figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from toc.charts.ledger import headroom_bars, pipeline_flow
from toc.charts.series import stage_timeseries
from toc.charts.stage import stage_charts
from toc.cycles.figures import event_moves, stage_names
from toc.metrics.series import one_stage_series, peak_series
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

# A chosen range gets the smallest of these buckets that keeps it near 300
# points (as RANGES do), and none is longer than a quarter.
CUSTOM_BUCKETS = (
    (60, None),
    (300, "5 min"),
    (900, "15 min"),
    (1800, "30 min"),
    (3600, "1 h"),
    (7200, "2 h"),
    (21600, "6 h"),
    (43200, "12 h"),
)
MAX_POINTS = 360
MAX_SPAN = timedelta(days=92)
MIN_SPAN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Window:
    """The time the charts show: one of RANGES ending with the last sample, or a
    range someone chose (``range_key`` None), which stays put."""

    start: datetime
    end: datetime
    bucket_s: int
    bucket_label: str | None
    refresh_s: int | None
    range_key: str | None

    @property
    def query(self) -> str:
        """The query string that shows this window again."""
        if self.range_key:
            return f"range={self.range_key}"
        return f"from={_query_time(self.start)}&to={_query_time(self.end)}"


def _query_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def range_window(range_key: str, ledger: dict) -> Window:
    """The range up to the last processed sample (or now, before any)."""
    chart_range = RANGES[range_key]
    last = parse_datetime(ledger["window_end"] or "") or timezone.now()
    # The range ends with the bucket holding the last sample, so it has whole buckets.
    bucket_s = chart_range.bucket_s
    end = datetime.fromtimestamp(
        (int(last.timestamp()) // bucket_s + 1) * bucket_s, UTC
    )
    return Window(
        end - chart_range.span,
        end,
        bucket_s,
        chart_range.bucket_label,
        chart_range.refresh_s,
        range_key,
    )


def custom_window(start: datetime, end: datetime) -> Window:
    span = (end - start).total_seconds()
    bucket_s, label = next(
        (choice for choice in CUSTOM_BUCKETS if span / choice[0] <= MAX_POINTS),
        CUSTOM_BUCKETS[-1],
    )
    return Window(start, end, bucket_s, label, None, None)


def ledger_figures(
    ledger: dict, constraint: str | None = None, system: System | None = None
) -> dict:
    """The flow and headroom charts, marking ``constraint`` (a slug, the stage the
    card names) or else the window's verdict; with ``system``, a click on a stage
    of the flow opens its page."""
    urls = (
        {row["stage"]: stage_url(system, row["stage"]) for row in ledger["stages"]}
        if system
        else None
    )
    return {
        "flow": pipeline_flow(ledger, constraint, urls),
        "headroom": headroom_bars(ledger, constraint),
    }


def stage_url(system: System, stage_slug: str) -> str:
    return reverse("systems:stage", args=[system.slug, stage_slug])


def series_figure(
    system: System, stages: list[Stage], ledger: dict, window: Window
) -> dict:
    """Every stage's peaks per bucket over ``window``, with the constraint's moves."""
    series = peak_series(stages, window.start, window.end, window.bucket_s)
    events = system.constraint_events.filter(
        at__gte=window.start, at__lt=window.end
    ).order_by("at")
    moves = event_moves(events, stage_names(ledger))
    return stage_timeseries(series["t"], series["stages"], moves, window.bucket_label)


def stage_figures(system: System, stage: Stage, ledger: dict, window: Window) -> dict:
    """One stage over ``window``: its ``charts``; its ``failure_modes`` (each
    mode's count and last sighting); the constraint's ``moves`` to or from it,
    the newest first; whether it ``reported`` at all, and whether it ``failed``
    (an error or a drop)."""
    series = one_stage_series(stage, window.start, window.end, window.bucket_s)
    events = system.constraint_events.filter(
        Q(from_stage=stage.slug) | Q(to_stage=stage.slug),
        at__gte=window.start,
        at__lt=window.end,
    ).order_by("at")
    moves = event_moves(events, stage_names(ledger))
    return {
        "charts": stage_charts(
            series["t"], (window.start, window.end), series, moves, window.bucket_label
        ),
        "failure_modes": series["failure_modes"],
        "moves": moves[::-1],
        "reported": any(count is not None for count in series["errors"]),
        "failed": any(series["errors"]) or any(series["dropped"]),
    }
