"""One error shape for the whole API: {"errors": [{"field", "message"}, ...]}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
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


# Django's own error pages, for what fails before or outside a DRF view (a path
# that matches no route, a body Django refuses): JSON under /api/, HTML elsewhere.


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"field": field, "message": message}]}, status=status
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, "The body is too large; send less at once.")
    return error_response(400, "Bad request.")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return error_response(404, "No such API route; see /api/schema/.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    return error_response(500, "Server error; it has been logged.")
