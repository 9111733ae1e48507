"""One error shape for the whole API: {"errors": [{"field", "message"}, ...]}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail, field: str | None = None) -> list[dict]:
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            if isinstance(key, int):  # the items of a list field: "stages[0]"
                errors += _flatten(value, f"{field}[{key}]")
                continue
            name = None if key == "non_field_errors" else str(key)
            errors += _flatten(
                value, f"{field}.{name}" if field and name else name or field
            )
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": field, "message": str(item)} for item in detail]
        errors = []
        for index, item in enumerate(detail):
            errors += _flatten(item, f"{field}[{index}]" if field else f"[{index}]")
        return errors
    return [{"field": field, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    # Django's own exceptions keep their message (e.g. "No such system.").
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.detail)}
    return response
