"""A secret a form creates (an ingest key, an API token) is shown once, on the
page the form redirects to.

Post/redirect/get, so that reloading the page that shows it makes no second
one. The secret travels to that page in a cookie of the browser that created
it: scoped to the page, short-lived, and deleted as it is shown. It is not kept
in the session, because toc stores no plaintext secret anywhere, not even for a
moment in a session row (tests/security/test_keys_at_rest.py).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import add_never_cache_headers

COOKIE = "toc_new_secret"
# Seconds: the browser follows the redirect at once.
MAX_AGE = 60


def redirect_showing(secret: str, to: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(to)
    # Signed for its page, so that no cookie planted from elsewhere is shown
    # as the key just created.
    response.set_signed_cookie(
        COOKIE,
        secret,
        salt=to,
        max_age=MAX_AGE,
        path=to,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def new_secret(request: HttpRequest) -> str:
    """The secret just created, if this is the page it was sent to."""
    return (
        request.get_signed_cookie(
            COOKIE, default="", salt=request.path, max_age=MAX_AGE
        )
        or ""
    )


def shown(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The page as it leaves: the secret forgotten, and the page kept out of
    every cache, since it may carry it."""
    if new_secret(request):
        response.delete_cookie(COOKIE, path=request.path, samesite="Strict")
    add_never_cache_headers(response)
    return response
