"""What drf-spectacular cannot see by itself: how toc authenticates, and the
shapes of the responses that are built as plain dicts."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

# The docs group operations by what they are about, not by their first path part.
TAGS = {
    "cycles": "cycles",
    "stages": "stages",
    "ingest-keys": "ingest keys",
    "samples": "metrics",
    "ledger": "metrics",
    "series": "metrics",
    "constraint-events": "metrics",
}


class TocAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        parts = [part for part in self.path.split("/") if part and "{" not in part]
        # /api/v1/systems/{slug}/<resource>/…: the resource names the group.
        if len(parts) > 3 and parts[2] == "systems":
            return [TAGS.get(parts[3], "systems")]
        return [parts[2]] if len(parts) > 2 else ["api"]


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "toc.api.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (tocpat_…) from your token page or "
            "`manage.py create_api_token`; or a system's ingest key (tocik_…), "
            "which may only post samples.",
        }


# The shapes of responses built as plain dicts, for the schema only.


class StageLedgerLineSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    samples = serializers.IntegerField()
    capacity = serializers.FloatField(allow_null=True)
    load = serializers.FloatField(allow_null=True)
    utilization = serializers.FloatField(allow_null=True)
    blocked = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    queue_depth = serializers.IntegerField(allow_null=True)
    queue_trend = serializers.FloatField(allow_null=True, help_text="Records/s.")
    backlog_state = serializers.CharField(allow_null=True)
    queue_seconds = serializers.FloatField(allow_null=True)
    drain_time_s = serializers.FloatField(
        allow_null=True, help_text="Null when the queue never drains."
    )
    headroom = serializers.FloatField(allow_null=True)
    failure_mode = serializers.CharField()
    errors = serializers.IntegerField()
    dropped = serializers.IntegerField()


class LedgerConstraintSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    headroom = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField()
    confidence_label = serializers.CharField()
    reason = serializers.CharField()


class NextConstraintSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    lift = serializers.FloatField(allow_null=True)


class LedgerSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    window_s = serializers.IntegerField()
    ceiling = serializers.FloatField(allow_null=True)
    max_input_rate = serializers.FloatField(allow_null=True)
    constraint = LedgerConstraintSerializer(allow_null=True)
    external_constraint = serializers.BooleanField()
    reason = serializers.CharField()
    next_constraint = NextConstraintSerializer(allow_null=True)
    stages = StageLedgerLineSerializer(many=True)


class SampleSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="The stage's slug.")
    ts = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    throughput = serializers.FloatField(min_value=0, help_text="Records/s.")
    capacity = serializers.FloatField(min_value=0, help_text="Records/s.")
    utilization = serializers.FloatField(min_value=0, max_value=1, required=False)
    latency_p95_ms = serializers.FloatField(min_value=0)
    queue_depth = serializers.IntegerField(min_value=0)
    errors = serializers.IntegerField(min_value=0, required=False)
    dropped = serializers.IntegerField(min_value=0, required=False)
    blocked = serializers.FloatField(min_value=0, max_value=1, required=False)
    failure_mode = serializers.CharField(required=False)


class SampleBatchSerializer(serializers.Serializer):
    samples = SampleSerializer(many=True, max_length=5000)


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class StageSeriesSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    load = serializers.ListField(child=serializers.FloatField(allow_null=True))
    capacity = serializers.ListField(child=serializers.FloatField(allow_null=True))
    utilization = serializers.ListField(child=serializers.FloatField(allow_null=True))
    queue_depth = serializers.ListField(child=serializers.IntegerField(allow_null=True))
    latency_p95_ms = serializers.ListField(
        child=serializers.FloatField(allow_null=True)
    )


# "from" is a Python keyword, so this one is built from a dict.
SeriesSerializer = type(
    "SeriesSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateTimeField(),
        "to": serializers.DateTimeField(),
        "resolution_s": serializers.IntegerField(),
        "t": serializers.ListField(child=serializers.DateTimeField()),
        "stages": StageSeriesSerializer(many=True),
    },
)
