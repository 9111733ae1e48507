from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any, cast

from django.db import models, transaction
from django.db.models import Max
from django.forms import ModelForm
from django.utils import timezone
from simple_history.utils import (
    bulk_create_with_history,
    get_history_manager_for_model,
)

from toc.cycles.models import (
    Assumption,
    ConstraintChoice,
    Cycle,
    CycleStatus,
    RolloutPhase,
)
from toc.cycles.readings import Ledger, slo_standings
from toc.cycles.records import LINKS, OPENED, RowKind
from toc.lib import ordering
from toc.lib.formats import duration
from toc.metrics.ledger import constraint_standing, ledger_response
from toc.systems.models import System

# (name, share of traffic, hold hours, success criteria)
STANDARD_PHASES = [
    ("Shadow", 0.0, 168, "No P1 incident missed for a week; decisions compared."),
    ("Canary 10%", 0.10, 48, "SLOs held; analysts prefer it at least as much."),
    ("25%", 0.25, 48, "SLOs held for the whole hold."),
    ("50%", 0.50, 48, "SLOs held for the whole hold."),
    ("75%", 0.75, 48, "SLOs held for the whole hold."),
    ("Full", 1.0, 168, "A week at 100% with every SLO met; old path kept as fallback."),
]


class CycleInProgress(Exception):
    """The system has a cycle in progress already: `cycle`."""

    def __init__(self, cycle: Cycle) -> None:
        self.cycle = cycle
        super().__init__(
            f"Cycle {cycle.number} of {cycle.system.name} is still in progress, "
            "and a system works on one constraint at a time. Close it first, "
            "with Start next cycle on the cycle's page."
        )


def _lock_open_cycles(system: System) -> None:
    """Waits for any other request that opens or reopens one of the system's
    cycles, and raises CycleInProgress if one is open once it has finished.

    The lock on the system row serialises them (NO KEY: ingest may still insert
    rows that refer to the system); the constraint one_open_cycle_per_system
    is the guarantee should a write ever skip this.
    """
    System.objects.select_for_update(no_key=True).filter(pk=system.pk).first()
    running = system.cycles.filter(status=CycleStatus.OPEN).first()
    if running is not None:
        running.system = system
        raise CycleInProgress(running)


@transaction.atomic
def cycle_open(
    *, system: System, title: str, user=None, stage: str = "", why: str = ""
) -> Cycle:
    """Opens the next cycle with every link in place and its constraint chosen:
    ``stage`` (a slug of the system's, with ``why``) when given, else the stage
    that holds the constraint in the ledger, unless the ledger is stale.

    Raises CycleInProgress while another cycle of the system is open."""
    _lock_open_cycles(system)
    last = system.cycles.aggregate(Max("number"))["number__max"] or 0
    ledger = ledger_response(system)
    cycle = Cycle.objects.create(
        system=system,
        number=last + 1,
        title=title,
        created_by=user,
        slos_opened=slo_record(system, lambda: ledger),
    )
    standing = None if ledger["stale"] else constraint_standing(ledger)
    detected = standing.stage if standing and standing.stage else ""
    chosen = system.stages.filter(slug=stage).first() if stage else None
    choice: dict[str, str | None]
    if chosen is not None:
        choice = {"stage": chosen.slug, "stage_name": chosen.name, "reason": why}
    elif standing and detected:
        verdict = ledger["constraint"]
        reason = (
            verdict["reason"]
            if verdict and verdict["stage"] == detected
            else f"{standing.name} holds the constraint in the ledger."
        )
        choice = {"stage": detected, "stage_name": standing.name, "reason": reason}
    else:
        choice = {"stage": "", "stage_name": "", "reason": _unchosen(ledger)}
    ConstraintChoice.objects.create(
        cycle=cycle,
        **choice,
        detected_stage=detected,
        ledger_snapshot=ledger if ledger["computed_at"] else None,
        chosen_by=user,
    )
    # The opened records, each of its kind's model.
    opened: dict[str, Any] = {
        kind.link: kind.model._default_manager.create(cycle=cycle)
        for kind in LINKS
        if kind.made == OPENED
    }
    bulk_create_with_history(
        [
            RolloutPhase(
                rollout=opened["rollout"],
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


def slo_record(system: System, ledger: Ledger) -> list[dict]:
    """The system's SLOs as they stand, measured off the ledger where they are
    read live: what a cycle keeps of its goal when it opens and when it closes."""
    return [asdict(slo) for slo in slo_standings(system.slos.all(), ledger)]


def _unchosen(ledger: dict) -> str:
    if ledger["stale"]:
        return (
            f"Not pre-selected: the ledger has had no data for "
            f"{duration(ledger['age_s'])}, so it may no longer say where the "
            "constraint is."
        )
    return ""


def _locked_status(cycle: Cycle) -> str:
    """The cycle's status once no other request is changing it; it stays locked
    until the transaction ends."""
    return (
        Cycle.objects.select_for_update(no_key=True)
        .values_list("status", flat=True)
        .get(pk=cycle.pk)
    )


class CycleClosed(Exception):
    """The cycle was closed, and its next one opened, by another request."""


@transaction.atomic
def cycle_close(*, cycle: Cycle) -> None:
    """Closes the cycle without opening another, as before reopening an earlier
    one. Raises CycleClosed if it is no longer open."""
    if _locked_status(cycle) != CycleStatus.OPEN:
        raise CycleClosed(f"Cycle {cycle.number} is already closed.")
    cycle.close(slos=slo_record(cycle.system, partial(ledger_response, cycle.system)))


@transaction.atomic
def cycle_close_and_continue(*, cycle: Cycle, user=None) -> Cycle:
    """Closes the cycle and opens the next on the stage its outcome says the
    constraint went to; when it names none, on the ledger's (if fresh).

    Raises CycleClosed if it is no longer open: of two requests to close it
    (a double click), one opens the next cycle."""
    cycle_close(cycle=cycle)
    return cycle_open(
        system=cycle.system,
        title=f"After {cycle.title}",
        user=user,
        stage=cycle.outcome.next_constraint,
        why=f"Where cycle {cycle.number}'s outcome says the constraint went.",
    )


class CycleNotClosed(Exception):
    """Only a closed cycle can be reopened."""


@transaction.atomic
def cycle_reopen(*, cycle: Cycle, reason: str, user=None) -> None:
    """Puts a closed cycle back in progress, with `reason` in its trail.

    Raises CycleNotClosed if it is open (reopened by another request meanwhile),
    CycleInProgress while another cycle of the system is open."""
    # The cycle's lock before the system's, in the order cycle_close_and_continue
    # takes them, so that a reopen and a close cannot wait on each other.
    if _locked_status(cycle) != CycleStatus.CLOSED:
        raise CycleNotClosed(f"Cycle {cycle.number} is in progress already.")
    _lock_open_cycles(cycle.system)
    # simple-history's own hook for who did it, which it reads untyped on save
    cast(Any, cycle)._history_user = user
    cycle.reopen(reason)


def _lock_list(parent: models.Model) -> None:
    """Holds the row that a list belongs to until the transaction ends, so that
    changes to the list's order take turns: two rows added at once would
    otherwise both take the position after the last."""
    type(parent)._default_manager.select_for_update(no_key=True).filter(
        pk=parent.pk
    ).first()


@transaction.atomic
def row_create(*, kind: RowKind, parent: models.Model, form: ModelForm) -> models.Model:
    """A valid form's row, at the end of its list if the list is ordered."""
    row = form.save(commit=False)
    setattr(row, kind.parent, parent)
    if kind.ordered:
        _lock_list(parent)
        last = kind.model._default_manager.filter(**{kind.parent: parent}).aggregate(
            Max("position")
        )["position__max"]
        row.position = 0 if last is None else last + 1
    row.save()
    return row


@transaction.atomic
def row_delete(
    *, cycle: Cycle, kind: RowKind, parent: models.Model, row: models.Model
) -> None:
    if kind.ordered:
        # Before the row goes: two deletes that each held their row while
        # waiting for the other's would deadlock.
        _lock_list(parent)
    if kind.model is Assumption and cycle.conflict.broken_assumption_id == row.pk:
        # SET_NULL would clear it with an UPDATE the audit trail never sees.
        cycle.conflict.broken_assumption = None
        cycle.conflict.save(update_fields=["broken_assumption"])
    row.delete()
    if kind.ordered:
        _reorder(kind, parent, ordering.close_gaps)


def row_move(*, kind: RowKind, parent: models.Model, pk: int, offset: int) -> bool:
    """False if the parent has no such row."""
    return _reorder(kind, parent, lambda rows: ordering.move(rows, pk, offset))


@transaction.atomic
def _reorder[T](
    kind: RowKind, parent: models.Model, reorder: Callable[[models.QuerySet], T]
) -> T:
    """Runs `reorder` on the parent's rows and writes history for each row it moved.

    toc.lib.ordering writes positions with bulk_update, which simple-history does not
    see; without these rows the trail and the as-of views would keep old orders.
    """
    _lock_list(parent)
    siblings: models.QuerySet = kind.model._default_manager.filter(
        **{kind.parent: parent}
    )
    before = dict(siblings.select_for_update().values_list("pk", "position"))
    result = reorder(siblings)
    moved = [row for row in siblings if before.get(row.pk) != row.position]
    get_history_manager_for_model(kind.model).bulk_history_create(moved, update=True)
    return result


@transaction.atomic
def record_save(*, cycle: Cycle, name: str, form: ModelForm, user) -> models.Model:
    """Saves a valid record form of the cycle (see steps.record_forms), filling in
    what the form does not carry: its cycle, who chose or decided, when."""
    record = form.save(commit=False)
    if record.pk is None:  # made by its first save, as a validation experiment is
        record.cycle = cycle
        # Two first saves at once (a double click) would both insert it; the
        # second writes over the first instead, as any later save would.
        Cycle.objects.select_for_update(no_key=True).filter(pk=cycle.pk).first()
        record.pk = (
            type(record)
            .objects.filter(cycle=cycle)
            .values_list("pk", flat=True)
            .first()
        )
    if name == "constraint":
        record.chosen_by = user
    elif name == "decision":
        record.decided_by = user
        record.decided_at = timezone.now()
    record.save()
    form.save_m2m()
    return record
