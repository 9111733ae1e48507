"""One error shape for the whole API: {"errors": [{"field", "message"}, ...]}."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail, field: str | None = None) -> list[dict]:
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _flatten(
                value,
                None
                if key == "non_field_errors"
                else (f"{field}.{key}" if field else str(key)),
            )
        ]
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [{"field": field, "message": str(item)} for item in detail]
        return [
            error
            for index, item in enumerate(detail)
            for error in _flatten(item, f"{field}[{index}]" if field else f"[{index}]")
        ]
    return [{"field": field, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.detail)}
    return response
