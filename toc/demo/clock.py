"""The demo story's clock: what a block of code writes is dated to a day of the
story, its audit trail included, and the ledger is read as it stood that day."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Max
from simple_history.utils import get_history_manager_for_model

from toc.cycles.trail import SOURCES
from toc.metrics.ledger import WINDOW_S, ledger_payload
from toc.metrics.rollups import window_ledger_rows
from toc.systems.models import System

# The models whose changes the audit trail shows: the story dates their history.
TRACKED = [source.model for source in SOURCES]


class Story:
    """The story's clock: ``at(day)`` is that many days after its start."""

    def __init__(self, system: System, user, start: datetime) -> None:
        self.system = system
        self.user = user
        self.start = start

    def at(self, day: float) -> datetime:
        return self.start + timedelta(days=day)

    @contextmanager
    def on(self, day: float) -> Iterator[datetime]:
        """What the block writes happened on ``day``, done by the demo user.

        The records are saved as any view saves them, then their history rows
        (and the times Django stamps on a save) are set to the story's time,
        a millisecond apart in the order they were written.
        """
        moment = self.at(day)
        marks = {model: _last_history_id(model) for model in TRACKED}
        yield moment
        for model in TRACKED:
            _date_history(model, marks[model], moment, self.user)

    def ledger(self, day: float) -> dict | None:
        """The ledger of the WINDOW_S seconds up to ``day``, from the demo's samples,
        as the cycle would have read it then (None without samples)."""
        moment = self.at(day)
        stages = list(self.system.stages.all())
        rows = window_ledger_rows(stages, moment, WINDOW_S)
        if not any(row.samples for row in rows):
            return None
        return {
            "computed_at": moment.isoformat(),
            **ledger_payload(stages, rows, moment),
        }


def _last_history_id(model: type[models.Model]) -> int:
    history = get_history_manager_for_model(model)
    return history.aggregate(last=Max("history_id"))["last"] or 0


def _date_history(
    model: type[models.Model], after: int, moment: datetime, user
) -> None:
    # The fields Django stamps on a save: only date and time fields have auto_now.
    stamped = [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField | models.TimeField)
        and (field.auto_now or field.auto_now_add)
    ]
    history = get_history_manager_for_model(model)
    written = history.filter(history_id__gt=after).order_by("history_id")
    for offset, (history_id, pk, kind) in enumerate(
        written.values_list("history_id", "id", "history_type")
    ):
        when = moment + timedelta(milliseconds=offset)
        times = {
            field.name: when
            for field in stamped
            if field.auto_now or (field.auto_now_add and kind == "+")
        }
        history.filter(history_id=history_id).update(
            history_date=when, history_user=user, **times
        )
        if times:
            model._default_manager.filter(pk=pk).update(**times)
