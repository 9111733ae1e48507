"""Database down: every request answers 503 with Retry-After, never a 500.

A lost or refused database connection is the service being unavailable, not a
bug in the request: the client should send the same request again later (ingest
is idempotent), so it gets 503 and how long to wait, as JSON under /api/ and as
a short page elsewhere. Nothing was acknowledged: a 202 is sent only after the
samples are committed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 10
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Set on a request whose handling raised a database error (see the signal below).
DOWN_MARK = "_database_down"
MESSAGE = "The database is unreachable for the moment; try again shortly."
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>toc is unavailable</title></head><body><h1>Unavailable</h1>"
    f"<p>{MESSAGE} Nothing saved before has been lost.</p></body></html>"
)


def unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"errors": [{"field": None, "message": MESSAGE}]}, status=503
        )
    else:
        response = HttpResponse(PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Raised in another middleware (a session saved on the way out), the
        # error has already become a 500; the signal below marked it.
        if response.status_code == 500 and getattr(request, DOWN_MARK, False):
            return unavailable(request)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        logger.warning("Database unavailable for %s: %s", request.path, exception)
        return unavailable(request)


def _mark_database_error(
    sender: object, request: HttpRequest | None = None, **kwargs: object
) -> None:
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        setattr(request, DOWN_MARK, True)


got_request_exception.connect(_mark_database_error)
