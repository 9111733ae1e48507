"""What every API resource shares.

- Writes are validated by the browser's own Django forms, so a script and a
  person meet the same rules and the same messages; `bound_form` turns a JSON
  body into such a form and `require_valid` its errors into the API's shape.
- Every single record carries an ETag; a write that sends `If-Match` with an
  older one is refused with 412 Precondition Failed, so two editors cannot
  silently overwrite each other. Without `If-Match` the write goes through
  (last write wins), as for a script that owns the record: toc never answers
  428, since scripts written against the API before ETags existed, and the
  README's session, write without one.
- Lists are cursor-paginated in a stable order; lists that cannot be (a union
  of tables, a record's history) are page-numbered.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime

from django import forms
from rest_framework import serializers
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response

from toc.api.jsontypes import form_type_errors


class PreconditionFailed(APIException):
    status_code = 412
    default_detail = (
        "This record changed after you read it. GET it again, reapply your "
        "change, and send its new ETag in If-Match."
    )
    default_code = "precondition_failed"


def etag(representation: dict) -> str:
    """A strong ETag of what the client reads: any change to the record changes it.

    `derived` is left out: it is read off the metrics (an SLO's live value, the
    validation experiment's verdict) and changes without anyone writing the record.
    """
    stored = {k: v for k, v in representation.items() if k != "derived"}
    text = json.dumps(stored, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def check_if_match(request, representation: dict) -> None:
    """412 when the client's `If-Match` names another version than the current one."""
    header = request.headers.get("If-Match")
    if not header:
        return
    sent = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in sent and etag(representation) not in sent:
        raise PreconditionFailed()


def tagged(representation: dict, status: int = 200) -> Response:
    response = Response(representation, status=status)
    response["ETag"] = etag(representation)
    return response


def bound_form[F: forms.Form | forms.ModelForm](
    form_class: type[F],
    body: object,
    *,
    instance=None,
    partial: bool = False,
    **kwargs,
) -> F:
    """The browser's form bound to a JSON object.

    Unknown fields are errors rather than silently ignored. Fields the body
    leaves out keep the instance's values with `partial` (PATCH), and otherwise
    take their defaults, as the browser's empty form would offer them.
    """
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    fields = list(form_class.base_fields)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ValidationError(
            {
                name: [f"Unknown field; this record takes {', '.join(fields)}."]
                for name in unknown
            }
        )
    wrong_type = form_type_errors(form_class, body)
    if wrong_type:
        raise ValidationError(wrong_type)
    if instance is not None:
        kwargs["instance"] = instance
    if partial and instance is not None:
        # What the browser's form shows for the record, fields of its own included
        # (a share shown as a percentage, say), not only the model's columns.
        shown = form_class(**kwargs).initial
        data = {name: shown[name] for name in fields if name in shown}
    else:
        # What the browser's form would show before anyone typed: model defaults.
        data = {
            name: field.initial() if callable(field.initial) else field.initial
            for name, field in form_class.base_fields.items()
            if field.initial is not None
        }
    data.update(body)
    return form_class(data, **kwargs)


def require_valid[F: forms.BaseForm](form: F) -> F:
    if not form.is_valid():
        errors = form.errors.get_json_data()
        raise ValidationError(
            {
                ("non_field_errors" if field == "__all__" else field): [
                    error["message"] for error in messages
                ]
                for field, messages in errors.items()
            }
        )
    return form


def filters(form_class: type[forms.Form], request) -> dict:
    """The query's filters, validated by the browser's filter form.

    A parameter sent empty is refused rather than read as "any", as the page's
    form reads it: the schema gives each a type (schema.query_parameters).
    """
    empty = [
        name for name in form_class.base_fields if request.query_params.get(name) == ""
    ]
    if empty:
        raise ValidationError(
            {name: ["Leave the filter out, or give it a value."] for name in empty}
        )
    return require_valid(form_class(request.query_params)).cleaned_data


def serializer_for(
    model, fields: Iterable[str], *, name: str | None = None
) -> type[serializers.ModelSerializer]:
    """A read serializer of `fields` (an id first), named for the schema."""
    meta = type("Meta", (), {"model": model, "fields": ["id", *fields]})
    return type(
        name or f"{model.__name__}Serializer",
        (serializers.ModelSerializer,),
        {"Meta": meta},
    )


class ByName(CursorPagination):
    ordering = ("name", "id")


class NewestFirst(CursorPagination):
    ordering = ("-at", "-id")


class ByPosition(CursorPagination):
    ordering = ("position", "id")


class PageNumbers(PageNumberPagination):
    """`?page=2`: for lists a cursor cannot walk; a page shifts when an item is
    added before it."""

    page_size_query_param = None

    def get_page_number(self, request, paginator) -> str | int:
        # DRF reads an empty ?page= as page 1; the schema says a page is a number.
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: "A page is a number."})
        return super().get_page_number(request, paginator)


class PlainMetadata(SimpleMetadata):
    """OPTIONS names the view and its media types; the schema documents the rest.

    DRF's default would also describe each write's fields by calling
    `get_object()`, which views that look objects up through the team do not
    have.
    """

    def determine_metadata(self, request, view) -> dict:
        return {
            "name": view.get_view_name(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }


# Far enough inside Python's datetime range that a window of days around the
# time can still be computed.
EARLIEST = datetime(1, 1, 8, tzinfo=UTC)
LATEST = datetime(9999, 12, 24, tzinfo=UTC)


def time_param(request, name: str) -> datetime | None:
    """The query parameter `name` as an aware time in UTC, or a 400 naming it.

    In UTC because PostgreSQL refuses offsets beyond ±15:59, which Python allows.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: "Use an ISO 8601 time with an offset."}) from None
    if moment.utcoffset() is None:
        raise ValidationError({name: "Use an ISO 8601 time with an offset."})
    return in_utc(moment, name)


def in_utc(moment: datetime, name: str) -> datetime:
    """The time in UTC, or a 400 naming the parameter when it is out of range."""
    try:
        utc: datetime | None = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValidationError({name: "Use a time between the years 1 and 9999."})
    return utc


def finite(answer: dict) -> dict:
    """The answer, if every number in it is finite; otherwise a 400.

    JSON has no infinity, and numbers near the largest float (1e308) multiply
    into one; the client sent them, so the client hears about it.
    """

    def walk(value: object) -> bool:
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, dict):
            return all(walk(item) for item in value.values())
        if isinstance(value, list | tuple):
            return all(walk(item) for item in value)
        return True

    if not walk(answer):
        raise ValidationError(
            {"non_field_errors": ["The numbers are too large to calculate with."]}
        )
    return answer


class ErrorsInJson(BaseContentNegotiation):
    """For answers of one type that is not JSON (an export whose type is in its
    path, Prometheus's text): whatever the client accepts, the answer comes as
    that type, and an error as JSON, like every API error."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
