from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from toc.accounts.models import Team
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


@transaction.atomic
def stage_move(*, stage: Stage, offset: int) -> None:
    """Moves a stage `offset` places along the pipeline (negative: upstream)."""
    # Locking the siblings serialises concurrent reorders of one system.
    stages = list(Stage.objects.select_for_update().filter(system_id=stage.system_id))
    current = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    target = min(max(current + offset, 0), len(stages) - 1)
    stages.insert(target, stages.pop(current))
    _renumber(stages)


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    system_id = stage.system_id
    stage.delete()
    _renumber(list(Stage.objects.select_for_update().filter(system_id=system_id)))


def _renumber(stages: list[Stage]) -> None:
    changed = []
    for position, stage in enumerate(stages):
        if stage.position != position:
            stage.position = position
            changed.append(stage)
    Stage.objects.bulk_update(changed, ["position"])
