from __future__ import annotations

from typing import cast

from rest_framework import serializers

from toc.accounts.models import Team
from toc.api.jsontypes import JsonTyped
from toc.metrics.models import ConstraintEvent
from toc.systems.models import Stage, System, slug_validator


class StageSerializer(JsonTyped, serializers.ModelSerializer):
    slug = serializers.CharField(max_length=40, validators=[slug_validator])
    capacity = serializers.FloatField(
        source="known_capacity",
        read_only=True,
        allow_null=True,
        help_text="A stage of people's capacity in records/s (people x items per "
        "hour / 3600), which its samples may leave out; null for a machine "
        "stage, whose samples report theirs.",
    )

    class Meta:
        model = Stage
        fields = [
            "name",
            "slug",
            "position",
            "unit",
            "description",
            "kind",
            "people",
            "items_per_hour",
            "capacity",
        ]
        # A system's stages are created by name and slug; a stage's kind and
        # numbers are set on the stage itself (the stage endpoints).
        read_only_fields = ["position", "kind", "people", "items_per_hour"]


class SystemSerializer(JsonTyped, serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none())
    stages = StageSerializer(many=True, required=False)

    class Meta:
        model = System
        fields = ["team", "name", "slug", "description", "stages", "created"]
        read_only_fields = ["created"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            team = cast(serializers.RelatedField, self.fields["team"])
            # The stubs read the Manager in queryset's type as a descriptor.
            team.queryset = Team.objects.writable_by(request.user)  # type: ignore[arg-type]

    def validate_stages(self, stages: list[dict]) -> list[dict]:
        for field in ("slug", "name"):
            values = [stage[field] for stage in stages]
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise serializers.ValidationError(
                    f"Stage {field}s must differ; repeated: {', '.join(repeated)}."
                )
        return stages


class ConstraintEventSerializer(serializers.ModelSerializer):
    from_stage = serializers.SerializerMethodField()
    to_stage = serializers.SerializerMethodField()

    class Meta:
        model = ConstraintEvent
        fields = ["at", "from_stage", "to_stage", "reason"]

    # Empty means outside the pipeline (or, for from_stage, nothing before).
    def get_from_stage(self, event: ConstraintEvent) -> str | None:
        return event.from_stage or None

    def get_to_stage(self, event: ConstraintEvent) -> str | None:
        return event.to_stage or None
