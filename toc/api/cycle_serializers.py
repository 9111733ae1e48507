"""How the API shows a cycle, and the bodies of its own operations.

A cycle's records and rows read as toc.cycles.serializers says, which the JSON
export shares; the registry (toc.cycles.records) names each kind's.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import serializers

from toc.api.jsontypes import JsonTyped
from toc.cycles import models
from toc.cycles.chain import Step


@dataclass(frozen=True)
class CycleLinks:
    """What the API shows beside a cycle (readings.Shown's reading)."""

    url: str
    steps: list[Step]
    links: dict


class ChainStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # drf-stubs#78: a field named like a Serializer attribute
    state = serializers.ChoiceField(choices=["missing", "draft", "done"])
    todo = serializers.ListField(child=serializers.CharField())


class CycleLinksSerializer(serializers.Serializer):
    close = serializers.URLField()
    records = serializers.DictField(child=serializers.URLField())
    lists = serializers.DictField(child=serializers.URLField())


class RecordedSloSerializer(serializers.Serializer):
    """An SLO of the system as a cycle recorded it (readings.SloStanding)."""

    name = serializers.CharField()
    dimension = serializers.CharField()
    comparator = serializers.CharField()
    target = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    measured = serializers.FloatField(allow_null=True)
    live = serializers.BooleanField(help_text="Read off the ledger, not typed in.")
    status = serializers.ChoiceField(
        choices=["met", "violated", "unknown"], allow_null=True
    )
    compliance = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="A live SLO's compliance over its window, a share; absent from "
        "what cycles recorded before SLOs had budgets.",
    )


class CycleSerializer(serializers.ModelSerializer):
    """A cycle (a readings.Shown of it and its CycleLinks) with each step's state
    (`chain`) and links."""

    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    url = serializers.URLField(read_only=True)
    chain = ChainStepSerializer(many=True, read_only=True, source="steps")
    links = CycleLinksSerializer(read_only=True)
    slos_opened = RecordedSloSerializer(
        many=True, read_only=True, help_text="The system's SLOs when it opened."
    )
    slos_closed = RecordedSloSerializer(
        many=True,
        read_only=True,
        allow_null=True,
        help_text="The system's SLOs when it closed; null while open.",
    )

    class Meta:
        model = models.Cycle
        fields = [
            "number",
            "title",
            "status",
            "created",
            "closed_at",
            "created_by",
            "slos_opened",
            "slos_closed",
            "url",
            "chain",
            "links",
        ]
        read_only_fields = ["number", "status", "created", "closed_at"]


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
