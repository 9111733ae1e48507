from __future__ import annotations

from collections.abc import Sequence

from django.db import models, transaction
from simple_history.utils import bulk_create_with_history

from toc.accounts.models import Team
from toc.lib import ordering
from toc.systems.forms import SloForm, StageForm
from toc.systems.models import Comparator, Slo, SloDimension, Stage, System

# The five dimensions every system starts with; targets are the team's to set.
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


@transaction.atomic
def system_create(
    *,
    team: Team,
    name: str,
    slug: str,
    description: str = "",
    stages: Sequence[tuple[str, str]] = (),
) -> System:
    """Creates a system, its stages (given as (name, slug) in pipeline order) and
    the five standard SLOs without targets."""
    system = System.objects.create(
        team=team, name=name, slug=slug, description=description
    )
    Stage.objects.bulk_create(
        Stage(system=system, name=stage_name, slug=stage_slug, position=position)
        for position, (stage_name, stage_slug) in enumerate(stages)
    )
    standard_slos_create(system)
    return system


def standard_slos_create(system: System) -> None:
    """The five standard SLOs, without targets, at the start of the list."""
    # bulk_create alone would leave these rows out of their history.
    bulk_create_with_history(
        [
            Slo(
                system=system,
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


def _lock_pipeline(system_id: int) -> None:
    """Holds the system's row until the transaction ends, so that changes to the
    order of its stages (or of its SLOs) take turns: two stages added at once
    would otherwise both take the position after the last. (NO KEY: ingest may
    still insert rows that refer to the system meanwhile.)"""
    System.objects.select_for_update(no_key=True).filter(pk=system_id).first()


@transaction.atomic
def stage_create(*, system: System, form: StageForm) -> Stage:
    """A valid stage form's stage, last in the pipeline."""
    _lock_pipeline(system.pk)
    stage = form.save(commit=False)
    stage.system = system
    stage.position = system.next_stage_position()
    stage.save()
    return stage


@transaction.atomic
def stage_move(*, stage: Stage, offset: int) -> None:
    """Moves a stage `offset` places along the pipeline (negative: upstream)."""
    _lock_pipeline(stage.system_id)
    ordering.move(Stage.objects.filter(system_id=stage.system_id), stage.pk, offset)


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    system_id = stage.system_id
    _lock_pipeline(system_id)
    stage.delete()
    ordering.close_gaps(Stage.objects.filter(system_id=system_id))


@transaction.atomic
def slo_create(*, system: System, form: SloForm) -> Slo:
    """A valid SLO form's SLO, last in the system's list."""
    _lock_pipeline(system.pk)
    slo = form.save(commit=False)
    slo.system = system
    last = system.slos.aggregate(models.Max("position"))["position__max"]
    slo.position = 0 if last is None else last + 1
    slo.save()
    return slo


@transaction.atomic
def slo_move(*, slo: Slo, offset: int) -> bool:
    """Moves an SLO `offset` places in its system's list; False if it is gone."""
    _lock_pipeline(slo.system_id)
    return ordering.move(Slo.objects.filter(system_id=slo.system_id), slo.pk, offset)


@transaction.atomic
def slo_delete(*, slo: Slo) -> None:
    system_id = slo.system_id
    _lock_pipeline(system_id)
    slo.delete()
    ordering.close_gaps(Slo.objects.filter(system_id=system_id))
