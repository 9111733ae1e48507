"""Keeping `position` 0, 1, 2, … in lists the user can reorder (stages, whys, …)."""

from __future__ import annotations

from typing import Any, Protocol

from django.db import models, transaction


class Positioned(Protocol):
    """A row of such a list: any model with a `position` field."""

    pk: Any
    position: int


@transaction.atomic
def move(siblings: models.QuerySet[Any], pk: int, offset: int) -> bool:
    """Moves row `pk` by `offset` places among `siblings`; False if it is not one."""
    # Locking the siblings serialises concurrent reorders of one list.
    rows: list[Positioned] = list(
        siblings.select_for_update().order_by("position", "id")
    )
    current = next((i for i, row in enumerate(rows) if row.pk == pk), None)
    if current is None:
        return False
    target = min(max(current + offset, 0), len(rows) - 1)
    rows.insert(target, rows.pop(current))
    _write(siblings.model, rows)
    return True


@transaction.atomic
def close_gaps(siblings: models.QuerySet[Any]) -> None:
    _write(
        siblings.model, list(siblings.select_for_update().order_by("position", "id"))
    )


def _write(model: type[Any], rows: list[Positioned]) -> None:
    if not rows:
        return
    # Two passes, the first through numbers above every position in use, so that
    # a unique position never collides (PostgreSQL checks it row by row).
    above = max(row.position for row in rows) + 1
    for index, row in enumerate(rows):
        row.position = above + index
    model.objects.bulk_update(rows, ["position"])
    for index, row in enumerate(rows):
        row.position = index
    model.objects.bulk_update(rows, ["position"])
