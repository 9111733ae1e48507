"""How the API shows a cycle, its records and its rows.

The writable fields of each record and row are exactly its browser form's; the
rest is read-only. Text and choices not filled in read as "", as they are
stored and as the browser's form sends them, so a record's writable fields can
be sent back as read; null is only for what may be missing (a number, a time,
a person).
"""

from __future__ import annotations

from rest_framework import serializers

from toc.analysis import ValidationResult
from toc.api.jsontypes import JsonTyped
from toc.cycles import models
from toc.cycles.forms import ProblemForm
from toc.cycles.kinds import RowKind
from toc.cycles.steps import validation_figures


def _username() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )


class ChainStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["missing", "draft", "done"])
    todo = serializers.ListField(child=serializers.CharField())


class CycleLinksSerializer(serializers.Serializer):
    close = serializers.URLField()
    records = serializers.DictField(child=serializers.URLField())
    lists = serializers.DictField(child=serializers.URLField())


class CycleSerializer(serializers.ModelSerializer):
    """A cycle with each step's state (`steps`) and links (`urls`) attached."""

    created_by = _username()
    url = serializers.URLField(read_only=True)
    chain = ChainStepSerializer(many=True, read_only=True, source="steps")
    links = CycleLinksSerializer(read_only=True)

    class Meta:
        model = models.Cycle
        fields = [
            "number",
            "title",
            "status",
            "created",
            "closed_at",
            "created_by",
            "url",
            "chain",
            "links",
        ]
        read_only_fields = ["number", "status", "created", "closed_at"]


class ConstraintSerializer(serializers.ModelSerializer):
    chosen_by = _username()

    class Meta:
        model = models.ConstraintChoice
        fields = [
            "stage",
            "reason",
            "stage_name",
            "detected_stage",
            "chosen_by",
            "chosen_at",
        ]
        read_only_fields = ["stage_name", "detected_stage", "chosen_at"]


class ValidationDerivedSerializer(serializers.Serializer):
    """What the experiment says, from the ingested metrics, as the goal page says it;
    null when its stage is no longer in the system."""

    result = serializers.ChoiceField(choices=list(ValidationResult))
    sentence = serializers.CharField()
    system_throughput_before = serializers.FloatField(
        source="before",
        allow_null=True,
        help_text="Records/s the last stage processed before the experiment.",
    )
    system_throughput_during = serializers.FloatField(
        source="during",
        allow_null=True,
        help_text="Records/s the last stage processed during the experiment.",
    )

    def to_representation(self, validation: models.ValidationExperiment) -> dict | None:
        figures = validation_figures(validation.cycle.system, validation)
        return (
            None if figures is None else super().to_representation(figures["verdict"])
        )


class ValidationSerializer(serializers.ModelSerializer):
    derived = ValidationDerivedSerializer(source="*", read_only=True, allow_null=True)

    class Meta:
        model = models.ValidationExperiment
        fields = ["stage", "capacity_factor", "started", "ended", "notes", "derived"]


class GapPercentField(serializers.FloatField):
    """The problem's share of the gap in percent, as the browser's form shows it."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", allow_null=True, required=False, **kwargs)

    def to_representation(self, problem: models.Problem) -> float | None:
        return ProblemForm(instance=problem).initial.get("gap_percent")


class ProblemSerializer(serializers.ModelSerializer):
    gap_percent = GapPercentField(min_value=0, max_value=100)

    class Meta:
        model = models.Problem
        fields = ["statement", "root_cause", "gap_percent"]


class ConflictSerializer(serializers.ModelSerializer):
    broken_assumption = serializers.IntegerField(
        source="broken_assumption_id",
        allow_null=True,
        required=False,
        help_text="The id of one of the conflict's assumptions.",
    )

    class Meta:
        model = models.Conflict
        fields = [
            "objective",
            "need_b",
            "action_d",
            "need_c",
            "action_e",
            "broken_assumption",
            "oscillation",
            "oscillation_note",
        ]


class InnovationSerializer(serializers.ModelSerializer):
    patterns = serializers.ListField(
        child=serializers.ChoiceField(choices=models.Pattern.choices), required=False
    )

    class Meta:
        model = models.Innovation
        fields = [
            "summary",
            "patterns",
            "pros_kept_b",
            "pros_kept_c",
            "residual_cons",
            "organizational_change",
        ]


class ExperimentSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.Experiment
        fields = ["riskiest_assumption", "hypothesis", "results", "learnings"]


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = _username()

    class Meta:
        model = models.Experiment
        fields = ["decision", "decision_reason", "decided_by", "decided_at"]
        read_only_fields = ["decided_at"]


class RolloutSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.Rollout
        fields = ["rollback_rule"]


class OutcomeSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.Outcome
        fields = ["next_constraint", "notes"]


RECORD_SERIALIZERS: dict[str, type[serializers.ModelSerializer]] = {
    "constraint": ConstraintSerializer,
    "validation": ValidationSerializer,
    "problem": ProblemSerializer,
    "conflict": ConflictSerializer,
    "innovation": InnovationSerializer,
    "experiment": ExperimentSerializer,
    "decision": DecisionSerializer,
    "rollout": RolloutSerializer,
    "outcome": OutcomeSerializer,
}


# What the browser shows next to a row besides its fields (steps.decorate_rows);
# read-only, and left out of the row's ETag since an SLO's changes with the ledger.
class SloDerivedSerializer(serializers.Serializer):
    live = serializers.BooleanField(
        help_text="Read off the ledger rather than typed in."
    )
    measured = serializers.FloatField(
        allow_null=True, help_text="The ledger's value for live SLOs."
    )
    status = serializers.ChoiceField(
        choices=["met", "violated", "unknown"], allow_null=True
    )


class CriterionDerivedSerializer(serializers.Serializer):
    passed = serializers.BooleanField(allow_null=True)


class OutcomeRowDerivedSerializer(serializers.Serializer):
    change = serializers.CharField()
    improved = serializers.BooleanField(allow_null=True)


DERIVED = {
    "slos": SloDerivedSerializer,
    "criteria": CriterionDerivedSerializer,
    "outcome-rows": OutcomeRowDerivedSerializer,
}


def row_serializer(kind: RowKind) -> type[serializers.ModelSerializer]:
    """`<Model>RowSerializer`: the row's id, its form's fields, its position if
    the list is ordered, and `derived` where the browser shows more."""
    extra = ["position"] if kind.ordered else []
    meta = type(
        "Meta",
        (),
        {
            "model": kind.model,
            "fields": ["id", *kind.form.base_fields, *extra],
            "read_only_fields": extra,
        },
    )
    attrs: dict = {"Meta": meta}
    if kind.key in DERIVED:
        attrs["derived"] = DERIVED[kind.key](read_only=True)
        meta.fields.append("derived")
    name = kind.model.__name__.removesuffix("Row")
    return type(f"{name}RowSerializer", (serializers.ModelSerializer,), attrs)


class StrictSerializer(JsonTyped, serializers.Serializer):
    """Unknown fields are errors, as they are for the forms (common.bound_form)."""

    def to_internal_value(self, data) -> dict:
        if isinstance(data, dict):
            known = [name for name, f in self.fields.items() if not f.read_only]
            unknown = sorted(set(data) - set(known))
            if unknown:
                message = f"Unknown field; this takes {', '.join(known)}."
                raise serializers.ValidationError({n: [message] for n in unknown})
        return super().to_internal_value(data)


class RowMoveSerializer(StrictSerializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


class MeasurementSerializer(StrictSerializer):
    """One measured value of a typed SLO, from the SLO's history."""

    value = serializers.FloatField()
    at = serializers.DateTimeField(read_only=True)
    by = serializers.CharField(read_only=True, allow_null=True)
