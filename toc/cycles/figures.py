"""Figures the cycle pages and the system dashboard both draw: the SLOs of the
cycle in progress and the timeline of constraint moves and cycles."""

from __future__ import annotations

from datetime import datetime, timedelta

from toc.analysis import SloStatus, evaluate_slo
from toc.charts.slo import SloGauge, slo_bullets
from toc.charts.timeline import CycleSpan, Move, constraint_timeline
from toc.cycles.readings import LiveBudget, measure_slos
from toc.lib import formats
from toc.systems.models import Comparator, System

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
    """The system's SLOs with a target, measured now, and its live SLOs'
    compliance against their objective, the budget left beside the name; None
    while there are none."""
    gauges, budgets = [], []
    for slo in measure_slos(system.slos.all(), lambda: ledger):
        if slo.budget is not None:
            gauges.append(_compliance_gauge(slo.name, slo.budget))
        elif slo.target is not None:
            gauges.append(
                SloGauge(
                    name=slo.name,
                    comparator=slo.comparator,
                    target=slo.target,
                    measured=slo.measured,
                    unit=slo.unit,
                    status=SloStatus(slo.status),
                )
            )
        else:
            continue
        budgets.append(slo.budget)
    if not gauges:
        return None
    figure = slo_bullets(gauges)
    # Each SLO's label ("name · status") is the one annotation placed on the
    # paper. A live SLO's budget says its status too (some left: met), and the
    # label must fit a phone's width on one line.
    labels = [a for a in figure["layout"]["annotations"] if a["xref"] == "paper"]
    for label, budget in zip(labels, budgets, strict=True):
        if budget is not None and budget.compliance is not None:
            name = label["text"].rsplit(" · ", 1)[0]
            label["text"] = f"{name} · {formats.budget_short(budget.remaining)}"
    return figure


def _compliance_gauge(name: str, budget: LiveBudget) -> SloGauge:
    """A live SLO reads as its compliance against its objective, in percent."""
    compliance = budget.compliance
    return SloGauge(
        name=name,
        comparator=Comparator.AT_LEAST,
        target=round(budget.objective * 100, 4),
        measured=None if compliance is None else round(compliance * 100, 4),
        unit="%",
        status=evaluate_slo(Comparator.AT_LEAST, budget.objective, compliance),
    )


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
