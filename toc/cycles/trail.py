"""The audit trail of a cycle: who changed which of its records, when, and how.

simple-history keeps one table per tracked model. The rows of one cycle are
found through the parent each historical row names: the cycle and its links by
the cycle's id, the rows of a list by their link's id (a why by `problem_id`).
A cycle's links are created with it and never move to another cycle, so these
filters are exact and need no extra column. (A cycle id filled in by the
pre_create_historical_record signal would miss every row that simple-history's
bulk helpers write, since they send no signal.)

The sources are the registry's kinds (records.py) and the system's SLOs.
Shared rows belong to a stage (features) or to the system (SLOs), and are
shared by every cycle of the system. A cycle's trail shows the changes to
them made while the cycle was open: the goal and the registry as it worked
towards them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Value
from django.utils.text import capfirst
from simple_history.utils import get_history_manager_for_model

from toc.cycles.models import Assumption, Cycle, Pattern, StepPlan
from toc.cycles.records import KINDS, RECORDS, RecordKind
from toc.lib.formats import number
from toc.systems.models import Slo


@dataclass(frozen=True)
class Source:
    model: type[models.Model]
    noun: str  # as it reads mid-sentence: "demo changed why …"
    key: str  # the historical row's field that names the parent
    parent: type[models.Model] | None = None  # a link of the cycle; None: the cycle
    title: str = ""  # the field that tells one row from another in a list
    shared: bool = False  # a stage's or the system's rows, shared by its cycles


def _sources() -> list[Source]:
    """The cycle, then each model the registry's kinds keep, once."""
    sources = [
        Source(Cycle, "cycle", "id", title="title"),
        Source(StepPlan, "owner and due date of", "cycle_id", title="step"),
    ]
    for kind in KINDS:
        if any(source.model is kind.model for source in sources):
            continue  # a second form over a record (the experiment's decision)
        if isinstance(kind, RecordKind):
            sources.append(Source(kind.model, kind.noun, "cycle_id"))
            continue
        parent = None if kind.parent == "cycle" or kind.shared else kind.parent
        sources.append(
            Source(
                kind.model,
                kind.trail_noun or kind.bare_noun,
                f"{kind.parent}_id",
                RECORDS[parent].model if parent else None,
                kind.title,
                kind.shared,
            )
        )
    sources.append(Source(Slo, "SLO", "system_id", title="name", shared=True))
    return sources


SOURCES = _sources()

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}

# Where a field's own name reads badly in a sentence.
LABELS = {
    "objective": "A · objective",
    "need_b": "B · need",
    "action_d": "D · action",
    "need_c": "C · need",
    "action_e": "D′ · action",
    "pros_kept_b": "Pros kept from B",
    "pros_kept_c": "Pros kept from C",
    "gap_share": "Share of the gap",
    "latency_ms": "Latency (ms)",
    "hold_hours": "Hold (hours)",
    "capacity_factor": "Capacity multiplied by",
    "measured_from": "Measured how",
    "position": "Place in the list",
}


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    when: datetime
    who: str  # empty when no one was signed in (a command or a script)
    action: str
    record: str
    title: str
    changes: list[Change]
    reason: str = ""  # why, when someone said (a reopened cycle)


def _history(source: Source, cycle: Cycle) -> models.QuerySet:
    history = get_history_manager_for_model(source.model).all()
    if source.shared:
        owners = (
            [cycle.system_id]
            if source.key == "system_id"
            else cycle.system.stages.values("pk")
        )
        history = history.filter(
            **{f"{source.key}__in": owners}, history_date__gte=cycle.created
        )
        if cycle.closed_at:
            history = history.filter(history_date__lte=cycle.closed_at)
        return history
    if source.parent is None:
        return history.filter(**{source.key: cycle.pk})
    parents = source.parent._default_manager.filter(cycle=cycle).values("pk")
    return history.filter(**{f"{source.key}__in": parents})


def trail(cycle: Cycle) -> models.QuerySet:
    """(source index, history id, date) of every change to the cycle, newest first.

    One query over all history tables, so that it can be counted and paginated;
    `entries` then reads the full records of one page.
    """
    parts = [
        # Without their default ordering: SQLite refuses ORDER BY in a UNION's parts.
        _history(source, cycle)
        .order_by()
        # Not named "source": an SLO has a field of that name.
        .annotate(source_index=Value(index))
        .values_list("source_index", "history_id", "history_date")
        for index, source in enumerate(SOURCES)
    ]
    return (
        parts[0]
        .union(*parts[1:], all=True)
        .order_by("-history_date", "-source_index", "-history_id")
    )


def entries(page: Iterable[tuple[int, int, datetime]]) -> list[Entry]:
    page = list(page)
    wanted: dict[int, list[int]] = defaultdict(list)
    for index, history_id, _ in page:
        wanted[index].append(history_id)
    names = _Names()
    found = {}
    for index, ids in wanted.items():
        source = SOURCES[index]
        records = list(
            get_history_manager_for_model(source.model)
            .filter(history_id__in=ids)
            .select_related("history_user")
        )
        before = _previous_versions(source.model, records)
        for record in records:
            entry = _entry(source, record, before.get(record.history_id), names)
            found[index, record.history_id] = entry
    return [found[index, history_id] for index, history_id, _ in page]


def _previous_versions(model: type[models.Model], records: list) -> dict:
    """The version each record replaced, for all records in one query."""
    latest = max(record.history_date for record in records)
    versions = (
        get_history_manager_for_model(model)
        .filter(id__in={record.id for record in records}, history_date__lte=latest)
        .order_by("id", "history_date", "history_id")
    )
    before: dict[int, Any] = {}
    last: dict[int, Any] = {}
    for version in versions:
        before[version.history_id] = last.get(version.id)
        last[version.id] = version
    return before


def _entry(source: Source, record, prior, names: _Names) -> Entry:
    action = ACTIONS[record.history_type]
    # The parent never changes; showing it would only repeat the cycle.
    hidden = {"id", "cycle", "system", source.key.removesuffix("_id")}
    # What a cycle recorded of its goal is on its goal page, not in sentences.
    hidden |= {"slos_opened", "slos_closed"}
    changes = []
    if action == "changed" and prior is not None:
        delta = record.diff_against(prior, excluded_fields=hidden)
        # diff_against sorts by field name; the model's order reads as its form.
        order = [field.name for field in source.model._meta.fields]
        changes = [
            Change(
                _label(source.model, change.field),
                names.show(source.model, change.field, change.old),
                names.show(source.model, change.field, change.new),
            )
            for change in sorted(delta.changes, key=lambda c: order.index(c.field))
        ]
    elif action == "created":
        for field in source.model._meta.fields:
            # The title is shown already; a new row's place is implied by its list.
            skip = hidden | {"position", source.title}
            if field.name in skip or not field.editable:
                continue
            shown = names.show(source.model, field.name, getattr(record, field.attname))
            if shown:
                changes.append(Change(_label(source.model, field.name), "", shown))
    user = record.history_user
    return Entry(
        when=record.history_date,
        who=user.get_username() if user else "",
        action=action,
        record=source.noun,
        title=str(getattr(record, source.title, "")) if source.title else "",
        changes=changes,
        # A person's words only on the cycle's own rows (a reopening); elsewhere
        # the reason is a marker for code, such as an SLO's "measurement".
        reason=(record.history_change_reason or "") if source.model is Cycle else "",
    )


def _label(model: type[models.Model], name: str) -> str:
    return LABELS.get(name) or str(capfirst(_field(model, name).verbose_name))


def _field(model: type[models.Model], name: str) -> models.Field:
    # The history rows record, and diff, the model's own fields.
    return cast(models.Field, model._meta.get_field(name))


class _Names:
    """Values as people read them, with the users and assumptions they name."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], str] = {}

    def show(self, model: type[models.Model], name: str, value) -> str:
        field = _field(model, name)
        if value is None or value == "" or value == []:
            return ""
        if name == "position":
            return str(value + 1)  # people count places from 1
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.BooleanField):
            return "yes" if value else "no"
        if name == "patterns":
            labels = dict(Pattern.choices)
            return ", ".join(str(labels.get(p, p)) for p in value)
        if name == "stage_names":
            return ", ".join(value.values()) if isinstance(value, dict) else ""
        if name == "ledger_snapshot":
            end = value.get("window_end") if isinstance(value, dict) else None
            return (
                f"the ledger up to {end[:16].replace('T', ' ')} UTC"
                if end
                else ("a ledger")
            )
        if field.related_model is not None:
            return self._related(field.related_model, value)
        if name.endswith("_share") and isinstance(value, float):
            return f"{number(value * 100)}%"
        if isinstance(value, float):
            return number(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return str(value)

    def _related(self, model: type[models.Model], pk: int) -> str:
        key = (model._meta.label, pk)
        if key not in self._cache:
            if model is Assumption:
                row = Assumption.history.filter(id=pk).first()
                self._cache[key] = row.text if row else f"assumption #{pk}"
            elif model is get_user_model():
                user = model.objects.filter(pk=pk).first()
                self._cache[key] = user.get_username() if user else f"user #{pk}"
            else:
                self._cache[key] = f"#{pk}"
        return self._cache[key]
