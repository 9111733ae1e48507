from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from toc.cycles.models import (
    Comparator,
    Conflict,
    ConstraintChoice,
    Cycle,
    CycleStatus,
    Experiment,
    Innovation,
    Outcome,
    Problem,
    Rollout,
    RolloutPhase,
    Slo,
    SloDimension,
)
from toc.metrics.processing import ledger_response
from toc.systems.models import System

# The five dimensions every cycle starts with; targets are the team's to set.
STANDARD_SLOS = [
    (
        SloDimension.TIME_TO_DECISION,
        "Time to decision (p95)",
        Comparator.AT_MOST,
        "min",
    ),
    (
        SloDimension.DECISION_BUDGET,
        "Actionable alerts per day",
        Comparator.AT_MOST,
        "/day",
    ),
    (
        SloDimension.OUTCOME_WEIGHTED,
        "Outcome-weighted recall",
        Comparator.AT_LEAST,
        "%",
    ),
    (SloDimension.COVERAGE, "Coverage of relevant events", Comparator.AT_LEAST, "%"),
    (SloDimension.DATA_LOSS, "Data loss", Comparator.AT_MOST, "%"),
]

# (name, share of traffic, hold hours, success criteria)
STANDARD_PHASES = [
    ("Shadow", 0.0, 168, "No P1 incident missed for a week; decisions compared."),
    ("Canary 10%", 0.10, 48, "SLOs held; analysts prefer it at least as much."),
    ("25%", 0.25, 48, "SLOs held for the whole hold."),
    ("50%", 0.50, 48, "SLOs held for the whole hold."),
    ("75%", 0.75, 48, "SLOs held for the whole hold."),
    ("Full", 1.0, 168, "A week at 100% with every SLO met; old path kept as fallback."),
]


@transaction.atomic
def cycle_open(*, system: System, title: str, user=None) -> Cycle:
    """Opens the next cycle with every link in place and the live constraint chosen."""
    # Locking the system row serialises numbering when two people open at once.
    System.objects.select_for_update().filter(pk=system.pk).first()
    last = system.cycles.aggregate(Max("number"))["number__max"] or 0
    cycle = Cycle.objects.create(
        system=system, number=last + 1, title=title, created_by=user
    )
    # bulk_create alone would leave these rows out of the audit trail.
    bulk_create_with_history(
        [
            Slo(
                cycle=cycle,
                dimension=dimension,
                name=name,
                comparator=comparator,
                unit=unit,
                position=position,
            )
            for position, (dimension, name, comparator, unit) in enumerate(
                STANDARD_SLOS
            )
        ],
        Slo,
    )
    ledger = ledger_response(system)
    detected = ledger["constraint"]
    ConstraintChoice.objects.create(
        cycle=cycle,
        stage=detected["stage"] if detected else "",
        stage_name=detected["name"] if detected else "",
        reason=detected["reason"] if detected else "",
        detected_stage=detected["stage"] if detected else "",
        ledger_snapshot=ledger if ledger["computed_at"] else None,
        chosen_by=user,
    )
    for model in (Problem, Conflict, Innovation, Experiment, Outcome):
        model.objects.create(cycle=cycle)
    rollout = Rollout.objects.create(cycle=cycle)
    bulk_create_with_history(
        [
            RolloutPhase(
                rollout=rollout,
                position=position,
                name=name,
                traffic_share=share,
                hold_hours=hours,
                success_criteria=criteria,
            )
            for position, (name, share, hours, criteria) in enumerate(STANDARD_PHASES)
        ],
        RolloutPhase,
    )
    return cycle


@transaction.atomic
def cycle_close_and_continue(*, cycle: Cycle, user=None) -> Cycle:
    """Closes the cycle and opens the next, starting from the current ledger."""
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = timezone.now()
    cycle.save(update_fields=["status", "closed_at"])
    following = cycle_open(system=cycle.system, title=f"After {cycle.title}", user=user)
    return following
