"""A cycle exported as Markdown (to read and archive) or JSON (for programs).

The JSON shape, version 1 (`"format": "toc-cycle", "version": 1`). Keys are
stable; a change that removes or renames one gets a new version.

    format, version      "toc-cycle", 1
    exported_at          when the file was made
    as_of                the moment it shows, null for "now"
    system               {slug, name}
    cycle                {number, title, status, created, created_by, closed_at}
    goal                 {slos: [{id, name, dimension, comparator, target, unit,
                          measured, measured_from, status}],
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
                          after, unit, lower_is_better, change, improved}]} | null

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
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from toc.cycles.readings import Shown
from toc.cycles.records import KINDS, STEPS, RecordKind, RowKind
from toc.cycles.retro import Snapshot
from toc.cycles.serializers import (
    ConflictSerializer,
    ConstraintSerializer,
    ProblemSerializer,
    ValidationDerivedSerializer,
    ValidationSerializer,
    represent,
)
from toc.lib.formats import number

VERSION = 1


def filename(snapshot: Snapshot, extension: str) -> str:
    cycle = snapshot.cycle
    return f"{cycle.system.slug}-cycle-{cycle.number}.{extension}"


# JSON: each record and row as the API's serializers show it, where version 1
# said it otherwise, as version 1 said it.


class ConstraintV1(ConstraintSerializer):
    class Meta(ConstraintSerializer.Meta):
        fields = [*ConstraintSerializer.Meta.fields, "ledger_snapshot"]


class ValidationV1(ValidationSerializer):
    derived = None
    verdict = ValidationDerivedSerializer(read_only=True, allow_null=True)

    class Meta(ValidationSerializer.Meta):
        fields = ["stage", "capacity_factor", "started", "ended", "notes", "verdict"]


class ProblemV1(ProblemSerializer):
    gap_percent = None

    class Meta(ProblemSerializer.Meta):
        fields = ["statement", "root_cause", "gap_share"]


class ConflictV1(ConflictSerializer):
    broken_assumption = None
    broken_assumption_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(ConflictSerializer.Meta):
        fields = [
            *(f for f in ConflictSerializer.Meta.fields if f != "broken_assumption"),
            "broken_assumption_id",
        ]


V1_SERIALIZERS = {
    "constraint": ConstraintV1,
    "validation": ValidationV1,
    "problem": ProblemV1,
    "conflict": ConflictV1,
}
# A row's `derived` is among its fields in version 1, less these.
V1_LEAVES_OUT = {"slos": ("position", "live")}


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
    for name in V1_LEAVES_OUT.get(kind.key, ()):
        del data[name]
    return data


def _step(snapshot: Snapshot, step: str) -> dict | None:
    """A step's records and lists. A step with a record of its own (the problem)
    is that record's fields, with the other forms' over it (the experiment's
    decision), and its lists; null when the record was not there yet. One
    without (the goal) has its records and lists side by side."""
    kinds = [kind for kind in KINDS if kind.step == step]
    lists = {
        kind.related_name: [_row(kind, shown) for shown in snapshot.rows[kind.name]]
        for kind in kinds
        if isinstance(kind, RowKind) and not kind.shared
    }
    records = [kind for kind in kinds if isinstance(kind, RecordKind)]
    if step not in snapshot.records:
        return {**lists, **{kind.key: _record(snapshot, kind) for kind in records}}
    if snapshot.records[step] is None:
        return None
    fields: dict = {}
    for kind in records:
        fields.update(_record(snapshot, kind) or {})
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


# Markdown

# Lines starting like this would turn into headings, quotes, lists, rules or code.
BLOCK_START = re.compile(r"^(\s*)(#|>|[-+*=_]|`{3}|~{3}|\d+[.)])")


def _inline(text: str) -> str:
    """One line of user text: no raw HTML, no line breaks."""
    return " ".join(str(text).replace("\\", "\\\\").replace("<", "\\<").split())


def _lead(text: str) -> str:
    """User text that starts a line or a list item."""
    return BLOCK_START.sub(r"\1\\\2", _inline(text))


def _cell(value) -> str:
    text = _inline(value) if value not in (None, "") else "—"
    return text.replace("|", "\\|")


def _paragraph(text: str) -> str:
    """User text kept as written, without any line starting a Markdown block."""
    lines = str(text).replace("\\", "\\\\").replace("<", "\\<").splitlines()
    return "\n".join(BLOCK_START.sub(r"\1\\\2", line) for line in lines)


def _table(head: list[str], rows: list[list]) -> list[str]:
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _field(label: str, text: str) -> list[str]:
    """A labelled paragraph, left out when empty."""
    return [f"**{label}:**", "", _paragraph(text), ""] if str(text).strip() else []


def _share(value: float | None) -> str:
    return "—" if value is None else f"{number(value * 100)}%"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def as_markdown(snapshot: Snapshot) -> str:
    s, cycle = snapshot, snapshot.cycle
    lines = [
        f"# {_inline(cycle.system.name)}: cycle {cycle.number}, {_inline(cycle.title)}",
        "",
        f"- Status: {cycle.get_status_display()}",
        f"- Opened: {_when(cycle.created)}"
        + (
            f" by {_inline(cycle.created_by.get_username())}"
            if cycle.created_by
            else ""
        ),
    ]
    if cycle.closed_at:
        lines.append(f"- Closed: {_when(cycle.closed_at)}")
    if s.as_of:
        lines.append(f"- As it stood on {_when(s.as_of)}")
    lines += ["", "## 1. Goal and constraint", "", "### SLOs", ""]
    lines += _table(
        ["SLO", "Target", "Measured", "Status"],
        [
            [
                slo.name,
                ""
                if slo.target is None
                else f"{slo.get_comparator_display()} {number(slo.target)} {slo.unit}",
                "" if slo.measured is None else f"{number(slo.measured)} {slo.unit}",
                slo.status or "no target",
            ]
            for slo in s.slos
        ],
    )
    lines += ["### Constraint", ""]
    if s.constraint and s.constraint.stage:
        lines += [f"**Stage:** {_inline(s.constraint.stage_name)}", ""]
        lines += _field("Why this stage", s.constraint.reason)
        ledger = s.constraint.ledger_snapshot or {}
        if ledger.get("stages"):
            end = ledger.get("window_end")
            lines += [
                f"Ledger kept with the cycle{f' (up to {end})' if end else ''}:",
                "",
            ]
            lines += _table(
                ["Stage", "Capacity", "Load", "Utilization", "p95 (ms)", "Queue"],
                [
                    [
                        row["name"],
                        number(row["capacity"]),
                        number(row["load"]),
                        _share(row["utilization"]),
                        number(row["latency_p95_ms"]),
                        number(row["queue_depth"]),
                    ]
                    for row in ledger["stages"]
                ],
            )
    else:
        lines += ["No constraint chosen.", ""]
    lines += ["### Validation experiment", ""]
    if s.validation:
        v = s.validation
        lines += [
            f"{_lead(s.validation_stage_name)} with "
            f"{number(v.capacity_factor)}× capacity, "
            f"{_when(v.started)} to {_when(v.ended)}.",
            "",
        ]
        if s.validation_figures:
            lines += [f"**{_inline(s.validation_figures['verdict'].sentence)}**", ""]
        lines += _field("Notes", v.notes)
    else:
        lines += ["Not recorded.", ""]

    lines += ["## 2. Problem", ""]
    if s.problem:
        lines += _field("Statement", s.problem.statement)
        lines += [
            f"Root cause: {s.problem.get_root_cause_display() or '—'}; "
            f"share of the gap it explains: {_share(s.problem.gap_share)}.",
            "",
            "### Five whys",
            "",
        ]
        for n, why in enumerate(s.whys, 1):
            state = "validated" if why.validated else "not validated"
            evidence = _inline(why.evidence) or "none yet"
            lines.append(f"{n}. {_lead(why.answer)} *Evidence:* {evidence} ({state})")
        lines += ["" if s.whys else "No whys yet.", ""]

    lines += ["## 3. Conflict", ""]
    if s.conflict:
        c = s.conflict
        lines += _table(
            ["Box", "Text"],
            [
                ["A · objective", c.objective],
                ["B · need", c.need_b],
                ["D · action for B", c.action_d],
                ["C · need", c.need_c],
                ["D′ · action for C", c.action_e],
            ],
        )
        if c.oscillation:
            lines += [f"Oscillation: {c.get_oscillation_display()}.", ""]
        lines += _field("About the oscillation", c.oscillation_note)
        lines += ["### Assumptions", ""]
        lines += _table(
            ["Arrow", "Assumption", "Verdict", "Reasoning"],
            [
                [a.get_arrow_display(), a.text, a.get_verdict_display(), a.reasoning]
                for a in s.assumptions
            ],
        )
        broken = s.broken_assumption
        lines += [f"Broken assumption: {_inline(broken.text) if broken else '—'}", ""]

    lines += ["## 4. Innovation", ""]
    if s.innovation:
        i = s.innovation
        lines += _field("Design", i.summary)
        lines += [f"Patterns: {', '.join(s.pattern_labels) or '—'}.", ""]
        lines += _field("Pros kept from B", i.pros_kept_b)
        lines += _field("Pros kept from C", i.pros_kept_c)
        lines += _field("Residual cons accepted", i.residual_cons)
        lines += _field("Organizational change", i.organizational_change)
        if s.tiers:
            lines += ["### Tiers", ""]
            lines += _table(
                ["Tier", "Features", "Model", "Sees", "Exits here", "Latency (ms)"],
                [
                    [
                        t.name,
                        t.features,
                        t.model,
                        _share(t.traffic_share),
                        _share(t.exit_share),
                        number(t.latency_ms),
                    ]
                    for t in s.tiers
                ],
            )

    lines += ["## 5. Experiment", ""]
    if s.experiment:
        e = s.experiment
        lines += _field("Riskiest assumption", e.riskiest_assumption)
        lines += _field("Hypothesis", e.hypothesis)
        lines += [f"### Success criteria ({s.verdict})", ""]
        lines += _table(
            ["Metric", "Criterion", "Result", "Passed"],
            [
                [
                    c.metric,
                    f"{c.get_comparator_display()} {number(c.threshold)}",
                    number(c.result),
                    {True: "yes", False: "no", None: "not measured"}[c.passed],
                ]
                for c in s.criteria
            ],
        )
        lines += _field("Results", e.results)
        lines += _field("Learnings", e.learnings)
        decided = e.get_decision_display()
        if e.decided_by:
            decided += f" by {_inline(e.decided_by.get_username())}"
        if e.decided_at:
            decided += f" on {_when(e.decided_at)}"
        lines += [f"**Decision:** {decided}", ""]
        lines += _field("Reason", e.decision_reason)

    lines += ["## 6. Rollout", ""]
    if s.rollout:
        lines += _field("Rollback rule", s.rollout.rollback_rule)
        lines += _table(
            ["Phase", "Traffic", "Hold (h)", "Success criteria", "Status"],
            [
                [
                    p.name,
                    _share(p.traffic_share),
                    number(p.hold_hours),
                    p.success_criteria,
                    p.get_status_display(),
                ]
                for p in s.phases
            ],
        )

    lines += ["## 7. Outcome", ""]
    if s.outcome:
        lines += _table(
            ["Metric", "Before", "After", "Change"],
            [
                [
                    r.metric,
                    f"{number(r.before)} {r.unit}",
                    f"{number(r.after)} {r.unit}",
                    r.change,
                ]
                for r in s.outcome_rows
            ],
        )
        lines += [
            f"Where the constraint went: {_inline(s.next_constraint_name) or '—'}",
            "",
        ]
        lines += _field("Notes", s.outcome.notes)
    return "\n".join(lines).rstrip() + "\n"
