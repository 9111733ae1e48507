from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from toc.accounts.models import Team
from toc.lib import ordering
from toc.systems.forms import StageForm
from toc.systems.models import Stage, System


@transaction.atomic
def system_create(
    *,
    team: Team,
    name: str,
    slug: str,
    description: str = "",
    stages: Sequence[tuple[str, str]] = (),
) -> System:
    """Creates a system and its stages, given as (name, slug) in pipeline order."""
    system = System.objects.create(
        team=team, name=name, slug=slug, description=description
    )
    Stage.objects.bulk_create(
        Stage(system=system, name=stage_name, slug=stage_slug, position=position)
        for position, (stage_name, stage_slug) in enumerate(stages)
    )
    return system


def _lock_pipeline(system_id: int) -> None:
    """Holds the system's row until the transaction ends, so that changes to the
    order of its stages take turns: two stages added at once would otherwise
    both take the position after the last. (NO KEY: ingest may still insert
    rows that refer to the system meanwhile.)"""
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
