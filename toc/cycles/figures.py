"""Figures the cycle pages and the system dashboard both draw: the SLOs of the
cycle in progress and the timeline of constraint moves and cycles."""

from __future__ import annotations

from datetime import datetime, timedelta

from toc.analysis import SloStatus
from toc.charts.slo import SloGauge, slo_bullets
from toc.charts.timeline import CycleSpan, Move, constraint_timeline
from toc.cycles.readings import slo_standings
from toc.systems.models import System

# The most moves the timeline draws; a system that flaps more than this has its
# older moves in the events API.
TIMELINE_MOVES = 500


def stage_names(ledger: dict) -> dict[str, str]:
    """Slug → name: events keep slugs (stable across renames), charts show names."""
    return {row["stage"]: row["name"] for row in ledger["stages"]}


def event_moves(events, names: dict[str, str]) -> list[Move]:
    return [
        Move(
            at=event.at,
            from_name=names.get(event.from_stage, event.from_stage) or None,
            to_name=names.get(event.to_stage, event.to_stage) or None,
            reason=event.reason,
        )
        for event in events
    ]


def slo_figure(system: System, ledger: dict) -> dict | None:
    """The system's SLOs with a target, measured now; None while there are none."""
    slos = [slo for slo in system.slos.all() if slo.target is not None]
    if not slos:
        return None
    gauges = [
        SloGauge(
            name=slo.name,
            comparator=slo.comparator,
            target=slo.target,  # type: ignore[arg-type]
            measured=slo.measured,
            unit=slo.unit,
            status=SloStatus(slo.status),
        )
        for slo in slo_standings(slos, lambda: ledger)
    ]
    return slo_bullets(gauges)


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
        event_moves(events, stage_names(ledger)),
        [CycleSpan(c.number, c.title, c.created, c.closed_at) for c in cycles],
        start,
        now,
    )
