"""A cycle exported as Markdown (to read and archive) or JSON (for programs).

The JSON shape, version 2 (`"format": "toc-cycle", "version": 2`). Keys are
stable; a change that removes or renames one gets a new version. Version 2:
the SLOs are the system's, so `goal` holds them as the cycle recorded them
(`slos_opened`; `slos` now, or when it closed), without ids.

    format, version      "toc-cycle", 2
    exported_at          when the file was made
    as_of                the moment it shows, null for "now"
    system               {slug, name}
    cycle                {number, title, status, created, created_by, closed_at}
    goal                 {slos: [{name, dimension, comparator, target, unit,
                          measured, live, status, compliance}],
                          slos_opened: [same],
                          constraint: {stage, stage_name, reason, detected_stage,
                          chosen_by, chosen_at, ledger_snapshot} | null,
                          validation: {stage, capacity_factor, started, ended,
                          notes, verdict: {result, sentence,
                          system_throughput_before, system_throughput_during}
                          | null} | null}
    problem              {statement, root_cause, gap_share,
                          whys: [{id, position, answer, evidence, validated}]} | null
    conflict             {objective, need_b, action_d, need_c, action_e,
                          oscillation, oscillation_note, broken_assumption_id,
                          assumptions: [{id, arrow, text, verdict, reasoning}]} | null
    innovation           {summary, patterns, pros_kept_b, pros_kept_c,
                          residual_cons, organizational_change,
                          tiers: [{id, position, name, features, model,
                          traffic_share, exit_share, latency_ms}]} | null
    experiment           {riskiest_assumption, hypothesis, results, learnings,
                          verdict, decision, decision_reason, decided_by,
                          decided_at, criteria: [{id, metric, comparator,
                          threshold, result, passed}]} | null
    rollout              {rollback_rule, phases: [{id, position, name,
                          traffic_share, hold_hours, success_criteria,
                          status}]} | null
    outcome              {next_constraint, notes, rows: [{id, metric, before,
                          after, unit, lower_is_better, change, improved}],
                          lessons: {went_well, to_change, actions} | null} | null

Times are ISO 8601 with their UTC offset; shares are fractions (0.7, not 70);
choices are their stored codes ("does_not_hold"), users their usernames; text
left empty is "". The ledger snapshot is kept as the ledger API returned it.

Each record and row reads as the API shows it (toc.cycles.serializers), with
what the API calls `derived` among its fields, except where version 1 said it
otherwise (the *V1 serializers below). A kind added to the registry
(records.py) appears in its step: a record by its fields, a list by the name
its parent gives it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework import serializers

from toc.cycles.readings import Shown
from toc.cycles.records import KINDS, STEPS, RecordKind, RowKind
from toc.cycles.retro import Snapshot, sections
from toc.cycles.serializers import (
    ConflictSerializer,
    ConstraintSerializer,
    ProblemSerializer,
    RecordSerializer,
    ValidationDerivedSerializer,
    ValidationSerializer,
    represent,
)

VERSION = 2


def filename(snapshot: Snapshot, extension: str) -> str:
    cycle = snapshot.cycle
    return f"{cycle.system.slug}-cycle-{cycle.number}.{extension}"


# JSON: each record and row as the API's serializers show it, where version 1
# said it otherwise, as version 1 said it. A field set to None is one of the
# parent's that DRF drops, which the type checker cannot follow.


class ConstraintV1(ConstraintSerializer):
    class Meta(ConstraintSerializer.Meta):
        fields = [*ConstraintSerializer.Meta.fields, "ledger_snapshot"]


class ValidationV1(ValidationSerializer):
    derived = None  # type: ignore[assignment]
    verdict = ValidationDerivedSerializer(read_only=True, allow_null=True)

    class Meta(ValidationSerializer.Meta):
        fields = ["stage", "capacity_factor", "started", "ended", "notes", "verdict"]


class ProblemV1(ProblemSerializer):
    gap_percent = None  # type: ignore[assignment]

    class Meta(ProblemSerializer.Meta):
        fields = ["statement", "root_cause", "gap_share"]


class ConflictV1(ConflictSerializer):
    broken_assumption = None  # type: ignore[assignment]
    broken_assumption_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(ConflictSerializer.Meta):
        fields = [
            *(f for f in ConflictSerializer.Meta.fields if f != "broken_assumption"),
            "broken_assumption_id",
        ]


V1_SERIALIZERS: dict[str, type[RecordSerializer]] = {
    "constraint": ConstraintV1,
    "validation": ValidationV1,
    "problem": ProblemV1,
    "conflict": ConflictV1,
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _user(user: Any) -> str | None:
    return user.get_username() if user else None


def _record(snapshot: Snapshot, kind: RecordKind) -> dict | None:
    record = snapshot.records[kind.link]
    if record is None:
        return None
    serializer = V1_SERIALIZERS.get(kind.key, kind.serializer)
    reading = snapshot.readings.get(kind.key)
    return represent(serializer, record, reading, utc_offset=True)


def _row(kind: RowKind, shown: Shown) -> dict:
    data = represent(kind.serializer, shown.row, shown.reading, utc_offset=True)
    data.update(data.pop("derived", {}))
    return data


def _step(snapshot: Snapshot, step: str) -> dict | None:
    """A step's records and lists. A step with a record of its own (the problem)
    is that record's fields, with the other forms' over it (the experiment's
    decision), any other record under its key (the outcome's retrospective
    notes), and its lists; null when the record was not there yet. One without
    (the goal) has its records and lists side by side."""
    kinds = [kind for kind in KINDS if kind.step == step]
    lists = {
        kind.related_name: [_row(kind, shown) for shown in snapshot.rows[kind.name]]
        for kind in kinds
        if isinstance(kind, RowKind) and not kind.shared
    }
    records = [kind for kind in kinds if isinstance(kind, RecordKind)]
    if step == "goal":
        lists["slos"] = [asdict(row.latest) for row in snapshot.goal if row.latest]
        lists["slos_opened"] = [
            asdict(row.opened) for row in snapshot.goal if row.opened
        ]
    if step not in snapshot.records:
        return {**lists, **{kind.key: _record(snapshot, kind) for kind in records}}
    if snapshot.records[step] is None:
        return None
    fields: dict = {}
    for kind in records:
        if kind.link == step:
            fields.update(_record(snapshot, kind) or {})
        else:  # a record of its own in the step (the retrospective notes)
            fields[kind.key] = _record(snapshot, kind)
    if step == "experiment":  # version 1 gave the criteria's verdict here
        fields["verdict"] = snapshot.verdict
    return {**fields, **lists}


def as_json(snapshot: Snapshot) -> str:
    cycle = snapshot.cycle
    data = {
        "format": "toc-cycle",
        "version": VERSION,
        "exported_at": _time(timezone.now()),
        "as_of": _time(snapshot.as_of),
        "system": {"slug": cycle.system.slug, "name": cycle.system.name},
        "cycle": {
            "number": cycle.number,
            "title": cycle.title,
            "status": cycle.status,
            "created": _time(cycle.created),
            "created_by": _user(cycle.created_by),
            "closed_at": _time(cycle.closed_at),
        },
        **{step: _step(snapshot, step) for step in STEPS},
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


# Markdown: templates/cycles/export.md, a part per kind of record.


def as_markdown(snapshot: Snapshot) -> str:
    text = render_to_string(
        "cycles/export.md", {"s": snapshot, "sections": sections(snapshot)}
    )
    # The template's tags leave blank lines; Markdown reads one as well as many.
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
