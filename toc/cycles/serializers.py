"""How a cycle's records and rows read as JSON: in the API (toc.api) and in the
JSON export (export.py), which share these so that both say the same.

The writable fields of each record and row are exactly its browser form's; the
rest is read-only. Text and choices not filled in read as "", as they are
stored and as the browser's form sends them, so a record's writable fields can
be sent back as read; null is only for what may be missing (a number, a time,
a person). What is read beside a record or row (readings.py) comes in the
context as `reading` and shows as `derived`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models as django_models
from rest_framework import serializers

from toc.analysis import ValidationResult
from toc.cycles import models
from toc.cycles.forms import (
    NOTE_LENGTH,
    ConflictForm,
    ExperimentForm,
    InnovationForm,
    OutcomeForm,
    ProblemForm,
    RetrospectiveNotesForm,
    RolloutForm,
)
from toc.lib.bounds import PERCENT

if TYPE_CHECKING:
    from toc.cycles.records import RowKind


def represent(
    serializer: type[serializers.Serializer],
    instance: Any,
    reading: Any = None,
    **context: Any,
) -> dict:
    """`instance` as `serializer` shows it, with what is read beside it."""
    return dict(serializer(instance, context={"reading": reading, **context}).data)


class Moment(serializers.DateTimeField):
    """ISO 8601 in UTC: `Z` as DRF writes it, or `+00:00` where the context asks
    for `utc_offset` (the JSON export, whose version 1 wrote times so)."""

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if self.context.get("utc_offset") and isinstance(text, str):
            return text.removesuffix("Z") + "+00:00" if text.endswith("Z") else text
        return text


class RecordSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        django_models.DateTimeField: Moment,
    }


class Reading(serializers.Serializer):
    """Read-only: what the context's `reading` says of the instance."""

    def get_attribute(self, instance: Any) -> Any:
        return self.context.get("reading")


def _username() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )


class ConstraintSerializer(RecordSerializer):
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


class ValidationDerivedSerializer(Reading):
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

    def get_attribute(self, instance: Any) -> Any:
        figures = super().get_attribute(instance)  # readings.validation_figures
        return None if figures is None else figures["verdict"]


class ValidationSerializer(RecordSerializer):
    derived = ValidationDerivedSerializer(read_only=True, allow_null=True)

    class Meta:
        model = models.ValidationExperiment
        fields = ["stage", "capacity_factor", "started", "ended", "notes", "derived"]


class GapPercentField(serializers.FloatField):
    """The problem's share of the gap in percent, as the browser's form shows it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", allow_null=True, required=False, **kwargs)

    # source="*" hands it the whole problem; and FloatField represents a float,
    # where the stubs say str.
    def to_representation(self, problem: models.Problem) -> float | None:  # type: ignore[override]
        return ProblemForm(instance=problem).initial.get("gap_percent")


class ProblemSerializer(RecordSerializer):
    gap_percent = GapPercentField(validators=PERCENT.validators())

    class Meta:
        model = models.Problem
        fields = ["statement", "root_cause", "gap_percent"]


class ConflictSerializer(RecordSerializer):
    broken_assumption = serializers.IntegerField(
        source="broken_assumption_id",
        allow_null=True,
        required=False,
        help_text="The id of one of the conflict's assumptions.",
    )

    class Meta:
        model = models.Conflict
        fields = ConflictForm.Meta.fields  # the API writes what the page does


class InnovationSerializer(RecordSerializer):
    patterns = serializers.ListField(
        child=serializers.ChoiceField(choices=models.Pattern.choices), required=False
    )

    class Meta:
        model = models.Innovation
        fields = InnovationForm.Meta.fields  # the API writes what the page does


class ExperimentSerializer(RecordSerializer):
    class Meta:
        model = models.Experiment
        fields = ExperimentForm.Meta.fields  # the API writes what the page does


class DecisionSerializer(RecordSerializer):
    decided_by = _username()

    class Meta:
        model = models.Experiment
        fields = ["decision", "decision_reason", "decided_by", "decided_at"]
        read_only_fields = ["decided_at"]


class RolloutSerializer(RecordSerializer):
    class Meta:
        model = models.Rollout
        fields = RolloutForm.Meta.fields  # the API writes what the page does


class OutcomeSerializer(RecordSerializer):
    class Meta:
        model = models.Outcome
        fields = OutcomeForm.Meta.fields  # the API writes what the page does


class RetrospectiveNotesSerializer(RecordSerializer):
    class Meta:
        model = models.RetrospectiveNotes
        fields = RetrospectiveNotesForm.Meta.fields
        extra_kwargs = {name: {"max_length": NOTE_LENGTH} for name in fields}


# What the browser shows next to a row besides its fields (readings.py);
# read-only, and left out of the row's ETag since an SLO's changes with the ledger.
class CriterionDerivedSerializer(Reading):
    passed = serializers.BooleanField(allow_null=True)


class OutcomeRowDerivedSerializer(Reading):
    change = serializers.CharField()
    improved = serializers.BooleanField(allow_null=True)


def row_serializer(kind: RowKind) -> type[serializers.ModelSerializer]:
    """`<Model>RowSerializer`: the row's id, its form's fields, its position if
    the list is ordered, and `derived` where the browser shows more."""
    extra = ["position"] if kind.ordered else []
    fields = ["id", *kind.form.base_fields, *extra]
    meta = type(
        "Meta",
        (),
        {"model": kind.model, "fields": fields, "read_only_fields": extra},
    )
    attrs: dict = {"Meta": meta}
    if kind.derived is not None:
        attrs["derived"] = kind.derived(read_only=True)
        fields.append("derived")
    name = kind.model.__name__.removesuffix("Row")
    return type(f"{name}RowSerializer", (RecordSerializer,), attrs)
