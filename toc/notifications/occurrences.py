"""What happened that a team may want to hear of, read from what the lower
layers already store: they never call notifications (an outbox: the scan
reads, and services.events_record keeps each occurrence once).

Each occurrence has a key naming it; the same occurrence read again, by a
later scan, a second scan at once, or after a restart, has the same key.
Occurrences older than the lookback are not news: a first scan after an
upgrade, or a backfill of last month's samples, tells nobody of old moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone

from toc.cycles.models import Cycle, CycleStatus, StepPlan
from toc.cycles.records import STEPS
from toc.cycles.steps_plan import default_due, is_overdue
from toc.metrics.ledger import freshness
from toc.metrics.models import ConstraintEvent, SloBudget, SystemLedger
from toc.notifications.models import Event, EventKind
from toc.systems.models import System

# A step past due for longer than this is old news, not told any more.
STEP_DUE_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Occurrence:
    key: str
    kind: EventKind
    system: System
    occurred_at: datetime
    summary: str
    data: dict = field(default_factory=dict)


def lookback() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATIONS_LOOKBACK_S)


def constraint_moves(now: datetime) -> Iterator[Occurrence]:
    """The moves the ledger confirmed (each ConstraintEvent is one that held).

    Keyed by system, time and stages rather than the row's id: processing
    replays late data by deleting and re-creating the rows it decided, and a
    replayed move is the same move.
    """
    moves = ConstraintEvent.objects.filter(
        decided_minute__gte=now - lookback()
    ).select_related("system__team")
    names: dict[int, dict[str, str]] = {}
    for move in moves.order_by("decided_minute", "id"):
        system = move.system
        if system.pk not in names:
            names[system.pk] = dict(system.stages.values_list("slug", "name"))
        name_of = names[system.pk]
        yield Occurrence(
            key=(
                f"{EventKind.CONSTRAINT_MOVED}:{system.pk}:{move.at.isoformat()}:"
                f"{move.from_stage}>{move.to_stage}"
            ),
            kind=EventKind.CONSTRAINT_MOVED,
            system=system,
            occurred_at=move.at,
            summary=f"{system.name}: {move.reason}",
            data={
                "system_name": system.name,
                "from_stage": move.from_stage or None,
                "from_stage_name": name_of.get(move.from_stage),
                "to_stage": move.to_stage or None,
                "to_stage_name": name_of.get(move.to_stage),
                "reason": move.reason,
            },
        )


def staleness(now: datetime) -> Iterator[Occurrence]:
    """A system that went stale by the ledger's own rule (metrics.ledger.freshness),
    and one that posts again after it was told stale. Each silence is told once
    and its end once: a late batch that leaves it stale starts no second one."""
    # Only the three values freshness reads, not each whole ledger, every scan.
    ledgers = SystemLedger.objects.filter(payload__isnull=False).values_list(
        "system_id",
        "payload__last_sample_at",
        "payload__window_end",
        "payload__stale_after_s",
    )
    told = _stale_told()
    systems = System.objects.select_related("team").in_bulk(
        [system_id for system_id, *_ in ledgers]
    )
    for system_id, last_sample_at, window_end, stale_after_s in ledgers:
        system = systems[system_id]
        payload = {
            "last_sample_at": last_sample_at,
            "window_end": window_end,
            "stale_after_s": stale_after_s,
        }
        fresh = freshness(payload, now)
        newest = last_sample_at or window_end
        since = told.get(system.pk)
        if fresh["stale"] and since is None:
            went_stale = datetime.fromisoformat(newest) + timedelta(
                seconds=stale_after_s or 0
            )
            if went_stale < now - lookback():
                continue  # silent for long before toc told anyone: old news
            yield Occurrence(
                key=f"{EventKind.SYSTEM_STALE}:{system.pk}:{newest}",
                kind=EventKind.SYSTEM_STALE,
                system=system,
                occurred_at=went_stale,
                summary=(
                    f"{system.name} has sent no samples since {newest} "
                    "(its data is stale)."
                ),
                data={
                    "system_name": system.name,
                    "last_sample_at": newest,
                    "age_s": round(fresh["age_s"]),
                    "stale_after_s": stale_after_s,
                },
            )
        elif not fresh["stale"] and since is not None:
            yield Occurrence(
                key=recovered_key(system.pk, since),
                kind=EventKind.SYSTEM_RECOVERED,
                system=system,
                occurred_at=now,
                summary=f"{system.name} posts samples again (newest {newest}).",
                data={
                    "system_name": system.name,
                    "stale_since": since,
                    "last_sample_at": newest,
                },
            )


def recovered_key(system_id: int, stale_since: str) -> str:
    """The key of the recovery that answers a stale event naming `stale_since`."""
    return f"{EventKind.SYSTEM_RECOVERED}:{system_id}:{stale_since}"


def latest_stale_events() -> QuerySet[Event]:
    """Each system's latest stale event: whether it was told stale, and since
    when (with its recovery, if one was recorded)."""
    latest_ids = (
        Event.objects.filter(kind=EventKind.SYSTEM_STALE)
        .values("system_id")
        .annotate(latest=Max("id"))
        .values("latest")
    )
    return Event.objects.filter(pk__in=latest_ids)


def _stale_told() -> dict[int, str]:
    """Systems told stale and not yet told recovered: the newest sample their
    latest stale event named."""
    latest = {
        # A stale event names its system.
        cast(int, event.system_id): event.data["last_sample_at"]
        for event in latest_stale_events()
    }
    recovered = set(
        Event.objects.filter(
            key__in=[
                recovered_key(system_id, since) for system_id, since in latest.items()
            ]
        ).values_list("key", flat=True)
    )
    return {
        system_id: since
        for system_id, since in latest.items()
        if recovered_key(system_id, since) not in recovered
    }


def steps_due(today: date) -> Iterator[Occurrence]:
    """Steps past their due date while their cycle is open: the rule by which
    the cycle list marks them overdue (cycles.steps_plan.is_overdue), the
    rollout's default date included."""
    open_cycles = Cycle.objects.filter(status=CycleStatus.OPEN).select_related(
        "system__team"
    )
    plans = StepPlan.objects.filter(
        cycle__in=open_cycles, due__gte=today - STEP_DUE_LOOKBACK
    ).select_related("owner", "cycle__system__team")
    planned_rollouts = set(
        StepPlan.objects.filter(cycle__in=open_cycles, step="rollout").values_list(
            "cycle_id", flat=True
        )
    )
    due: list[StepPlan] = list(plans)
    for cycle in open_cycles:
        if cycle.pk not in planned_rollouts:
            rollout = default_due(cycle, "rollout")
            if rollout and rollout >= today - STEP_DUE_LOOKBACK:
                due.append(StepPlan(cycle=cycle, step="rollout", due=rollout))
    for plan in due:
        if plan.due is None or not is_overdue(plan, plan.cycle, today):
            continue
        cycle, system = plan.cycle, plan.cycle.system
        step_name = STEPS.get(plan.step, plan.step)
        owner = plan.owner.get_username() if plan.owner else None
        yield Occurrence(
            key=f"{EventKind.CYCLE_STEP_DUE}:{cycle.pk}:{plan.step}:{plan.due}",
            kind=EventKind.CYCLE_STEP_DUE,
            system=system,
            # The start of the first day past due, in the site's time zone.
            occurred_at=datetime.combine(
                plan.due + timedelta(days=1),
                time.min,
                tzinfo=timezone.get_current_timezone(),
            ),
            summary=(
                f"{system.name}, cycle {cycle.number}: the {step_name} step was "
                f"due on {plan.due}" + (f" ({owner} owns it)." if owner else ".")
            ),
            data={
                "system_name": system.name,
                "cycle": cycle.number,
                "cycle_title": cycle.title,
                "step": plan.step,
                "due": plan.due.isoformat(),
                "owner": owner,
            },
        )


def slos_burning(now: datetime) -> Iterator[Occurrence]:
    """SLOs whose error budget burns fast enough for an alert (the worker
    decides, toc.metrics.slo_budgets): one occurrence per alert start, however
    long the alert lasts."""
    burning = SloBudget.objects.filter(
        alert_since__gte=now - lookback()
    ).select_related("slo__system__team")
    for budget in burning.exclude(alert="").order_by("alert_since", "id"):
        slo, system = budget.slo, budget.slo.system
        # The filter on alert_since leaves out a budget without one.
        alert_since = cast(datetime, budget.alert_since)
        left = budget.budget_remaining
        spent = "no data" if left is None else f"{1 - left:.0%} of the budget spent"
        yield Occurrence(
            key=f"{EventKind.SLO_BURNING}:{slo.pk}:{alert_since.isoformat()}",
            kind=EventKind.SLO_BURNING,
            system=system,
            occurred_at=alert_since,
            summary=(
                f"{system.name}: the SLO {slo.name} burns its error budget "
                f"({budget.alert}; {spent})."
            )[:300],
            data={
                "system_name": system.name,
                "slo": slo.pk,
                "slo_name": slo.name,
                "alert": budget.alert,
                "objective": slo.objective,
                "compliance": budget.compliance,
                "error_budget_remaining": left,
                "burn_rates": budget.burn_rates,
                "window_start": budget.window_start.isoformat(),
                "window_end": budget.window_end.isoformat(),
            },
        )


def all_occurrences(now: datetime, today: date) -> Iterator[Occurrence]:
    yield from constraint_moves(now)
    yield from staleness(now)
    yield from steps_due(today)
    yield from slos_burning(now)
