"""What drf-spectacular cannot see by itself: how toc authenticates, its
errors, headers and query parameters. The shapes of answers built as plain
dicts are in toc.api.answers."""

from __future__ import annotations

from django import forms
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
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
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # drf-stubs#78: a field named like a Serializer attribute


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
