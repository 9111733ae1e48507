"""What drf-spectacular cannot see by itself: how toc authenticates, and the
shapes of the responses that are built as plain dicts."""

from __future__ import annotations

from django import forms
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from toc.cycles.models import CycleStatus
from toc.cycles.records import LINKS, STEPS
from toc.metrics.ingest import MAX_BIGINT, MAX_EVENTS, MAX_RATE, MAX_TEXT

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


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text="The field at fault (a.b[0].c); null: the request."
    )
    message = serializers.CharField()
    index = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Samples only: the position of the sample at fault in the batch.",
    )


class ErrorSerializer(serializers.Serializer):
    errors = ErrorItemSerializer(many=True)


# The errors any operation may answer with, in the one error shape.
ERRORS = {
    "400": "The request is malformed or breaks a rule; every problem is listed.",
    "401": "No credentials, or they are invalid, expired or revoked.",
    "403": "Your role does not allow this (or an ingest key was sent).",
    "404": "No such object, or not one of your teams'.",
    "413": "The body is over the size limit.",
    "503": "The database is unavailable; resend after Retry-After seconds "
    "(toc/lib/unavailable.py).",
}
# Only a body that DRF parses can be of the wrong type (ingest reads its own).
UNSUPPORTED = "The body is not JSON (send Content-Type: application/json)."
# Only the methods a view names in `checks_if_match` compare ETags.
STALE_IF_MATCH = (
    "The record changed since the ETag sent in If-Match; nothing was written."
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of the record as you read it: if it has changed "
    "since, the answer is 412 and nothing is written. Without it the write "
    "goes through (last write wins).",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    response=[200, 201],
    description="The version of what this answer shows; send it as If-Match "
    "on a write of the record. A record's `derived` values are not part of it.",
)
# Only views with throttles (ingest) answer it.
RATE_LIMITED = "Too many requests from this key or address; wait and resend."
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before resending.",
        "required": True,
    }
}


class TocAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH") and self.view.parser_classes:
            errors["415"] = UNSUPPORTED
        if self.method in getattr(self.view, "checks_if_match", ()):
            errors["412"] = STALE_IF_MATCH
        if self.view.get_throttles():
            errors["429"] = RATE_LIMITED
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description),
                    code,
                    ["application/json"],
                    direction,
                )
        for waits in ("429", "503"):
            if waits in responses:
                responses[waits]["headers"] = RETRY_AFTER
        return responses

    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        checks = getattr(self.view, "checks_if_match", None)
        if self.method in (checks or ()):
            parameters.append(IF_MATCH)
        if self.method in self._answers_etag(checks):
            parameters.append(ETAG)
        return parameters

    def _answers_etag(self, checks: tuple[str, ...] | None) -> tuple[str, ...]:
        """The methods whose answer carries the record's ETag (common.tagged):
        the GET of a view whose writes check If-Match, since that is where a
        client reads the tag to send, and those writes; or the methods a view
        names in `answers_etag`."""
        if checks is None:
            return getattr(self.view, "answers_etag", ())
        return ("GET", *checks)

    def get_operation_id(self) -> str:
        # …/export.md: a dot would not survive as a name in generated clients.
        return super().get_operation_id().replace(".", "_")

    def get_tags(self) -> list[str]:
        parts = [part for part in self.path.split("/") if part and "{" not in part]
        # /api/v1/systems/{slug}/<resource>/…: the resource names the group.
        if len(parts) > 3 and parts[2] == "systems":
            return [TAGS.get(parts[3], "systems")]
        return [parts[2]] if len(parts) > 2 else ["api"]


def query_parameters(form_class: type[forms.Form]) -> list[OpenApiParameter]:
    """A filter form's fields, as the query parameters the API reads them from
    (the view's description says what each does)."""
    parameters = []
    for name, field in form_class.base_fields.items():
        choices = [value for value, _ in getattr(field, "choices", []) if value]
        kind = OpenApiTypes.DATE if isinstance(field, forms.DateField) else None
        parameters.append(
            OpenApiParameter(
                name,
                kind or OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=choices or None,
            )
        )
    return parameters


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
    kind = serializers.CharField(
        help_text="machine or human; a stage of people counts the same records/s."
    )
    samples = serializers.IntegerField()
    capacity = serializers.FloatField(allow_null=True)
    load = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    queue_depth = serializers.IntegerField(allow_null=True)
    queue_trend = serializers.FloatField(
        allow_null=True, help_text="Least-squares slope of the queue, records/s."
    )
    queue_trend_noise = serializers.FloatField(
        allow_null=True,
        help_text="The slope the queue's own scatter could fake, records/s; null "
        "with too few readings to tell.",
    )
    queue_growing = serializers.BooleanField(
        help_text="The trend is sustained: at least 3x its noise, 0.5% of the "
        "throughput, over a minute or more."
    )
    utilization = serializers.FloatField(
        allow_null=True,
        help_text="Share of time occupied, working or blocked (0..1); when samples "
        "leave it out, load / capacity + blocked.",
    )
    blocked = serializers.FloatField(
        allow_null=True,
        help_text="Share of time spent waiting on the next stage (part of "
        "utilization).",
    )
    backlog_state = serializers.CharField(allow_null=True)
    queue_seconds = serializers.FloatField(allow_null=True)
    drain_time_s = serializers.FloatField(
        allow_null=True, help_text="Null when the queue never drains."
    )
    headroom = serializers.FloatField(allow_null=True)
    failure_mode = serializers.CharField()
    errors = serializers.IntegerField()
    dropped = serializers.IntegerField()
    first_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The stage's oldest sample in the window."
    )
    last_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The stage's newest sample, in or before the window."
    )
    silent = serializers.BooleanField(
        help_text="The stage stopped reporting while others go on: its newest "
        "sample is older than stale_after_s before the system's."
    )


class LedgerConstraintSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    headroom = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField()
    confidence_label = serializers.CharField()
    reason = serializers.CharField()
    held_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Sample time since which this stage has led without a break, "
        "once a move made it the held constraint; null while it is emerging.",
    )


class StageRefSerializer(serializers.Serializer):
    stage = serializers.CharField(
        allow_null=True, help_text="Null: outside the pipeline."
    )
    name = serializers.CharField(allow_null=True)


class HeldConstraintSerializer(StageRefSerializer):
    since = serializers.DateTimeField(help_text="Sample time.")


class EmergingConstraintSerializer(StageRefSerializer):
    since = serializers.DateTimeField(help_text="Sample time it started leading.")
    leading_s = serializers.FloatField()
    hold_s = serializers.FloatField(
        help_text="How long it must lead before the move is recorded."
    )


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
    last_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The system's newest sample."
    )
    posting_interval_s = serializers.FloatField(
        allow_null=True, help_text="The usual time between a stage's samples."
    )
    stale_after_s = serializers.FloatField(
        help_text="Three posting intervals, and at least 120 s."
    )
    stale = serializers.BooleanField(
        help_text="The newest sample is older than stale_after_s: the pipeline "
        "stopped posting, and the ledger is not live."
    )
    age_s = serializers.FloatField(
        allow_null=True, help_text="Seconds since the newest sample."
    )
    constraint = LedgerConstraintSerializer(
        allow_null=True, help_text="The verdict of the current window."
    )
    external_constraint = serializers.BooleanField()
    reason = serializers.CharField()
    confidence = serializers.FloatField(
        help_text="Of the verdict, inside or outside the pipeline (0..1)."
    )
    confidence_label = serializers.CharField()
    near_tie = StageRefSerializer(
        allow_null=True, help_text="The stage nearly tied with the verdict's."
    )
    next_constraint = NextConstraintSerializer(allow_null=True)
    held = HeldConstraintSerializer(
        allow_null=True,
        help_text="The constraint as the last recorded move left it; null before "
        "any move.",
    )
    emerging = EmergingConstraintSerializer(
        allow_null=True,
        help_text="A verdict other than the held one, not yet led for hold_s.",
    )
    stages = StageLedgerLineSerializer(many=True)


class SampleSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="The stage's slug.")
    ts = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    throughput = serializers.FloatField(
        min_value=0, max_value=MAX_RATE, help_text="Records/s; 0 or at least 1e-9."
    )
    capacity = serializers.FloatField(
        min_value=0,
        max_value=MAX_RATE,
        required=False,
        allow_null=True,
        help_text="Records/s; 0 or at least 1e-9. Required, except for a stage "
        "of people (kind `human`), whose samples may leave it out: toc uses "
        "people x items per hour / 3600.",
    )
    utilization = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    latency_p95_ms = serializers.FloatField(min_value=0)
    queue_depth = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT)
    errors = serializers.IntegerField(
        min_value=0, max_value=MAX_EVENTS, required=False, allow_null=True
    )
    dropped = serializers.IntegerField(
        min_value=0, max_value=MAX_EVENTS, required=False, allow_null=True
    )
    blocked = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    failure_mode = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT
    )


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


class FindingSerializer(serializers.Serializer):
    stage = serializers.CharField(
        allow_null=True, help_text="Null: outside the pipeline, or no data."
    )
    ceiling = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()


class WhatIfStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    capacity = serializers.FloatField(allow_null=True)
    utilization = serializers.FloatField(allow_null=True)
    headroom = serializers.FloatField(allow_null=True, help_text="Null: unbounded.")


class WhatIfResultSerializer(serializers.Serializer):
    summary = serializers.CharField()
    before = FindingSerializer()
    after = FindingSerializer()
    stages = WhatIfStageSerializer(many=True)


class DecisionBudgetSerializer(serializers.Serializer):
    in_progress = serializers.FloatField()
    sustainable_alerts_per_day = serializers.FloatField()
    utilization = serializers.FloatField(
        allow_null=True, help_text="Null: work arrives but nobody is there to do it."
    )
    holds = serializers.BooleanField()


class TierLoadSerializer(serializers.Serializer):
    name = serializers.CharField()
    reach_share = serializers.FloatField()
    load = serializers.FloatField()
    required_capacity = serializers.FloatField()
    required_workers = serializers.FloatField()


class CascadePlanSerializer(serializers.Serializer):
    mean_latency_ms = serializers.FloatField()
    tiers = TierLoadSerializer(many=True)


# The JSON export's shape (toc.cycles.export documents each step's keys).


class ExportedSystemSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ExportedCycleSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=CycleStatus.choices)
    created = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


def _export_steps() -> dict[str, serializers.Field]:
    # A step with a record of its own (the problem) is null until it has one;
    # the goal, which has none, always has its lists and records.
    own = {kind.link for kind in LINKS}
    return {
        step: serializers.DictField(
            allow_null=step in own,
            help_text=f"{title}: its records' fields and its lists, as version 1 "
            "of the format names them.",
        )
        for step, title in STEPS.items()
    }


CycleExportSerializer = type(
    "CycleExportSerializer",
    (serializers.Serializer,),
    {
        "format": serializers.ChoiceField(choices=["toc-cycle"]),
        "version": serializers.IntegerField(min_value=1),
        "exported_at": serializers.DateTimeField(),
        "as_of": serializers.DateTimeField(
            allow_null=True, help_text="The moment shown; null: when exported."
        ),
        "system": ExportedSystemSerializer(),
        "cycle": ExportedCycleSerializer(),
        **_export_steps(),
    },
)
