"""Request bodies over the limit are refused before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from toc.api.errors import error_response


class BodyLimitMiddleware:
    """A JSON 413 for an API request that declares a body over the limit.

    Django itself checks the limit only when a view reads `request.body` or a
    form, and answers with a 400 page; DRF's parsers read the stream and never
    check. Here every API route and method gets the same answer, before the
    request is authenticated or touches the database.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/"):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "Content-Length is not a number.")
            if declared > limit:
                return error_response(
                    413, f"The body is over {limit} bytes; send less at once."
                )
        return self.get_response(request)
