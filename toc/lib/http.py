"""Which HTTP methods a page answers: anything else is a 405, never a page
rendered for a PUT or a DELETE it quietly ignored. A form's POST in one
transaction. And, as the type checker sees them, the request of a page behind
a login and that of a page htmx may ask for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A page that only shows something.
read_only = require_safe
# A page with a form: shown with GET, submitted with POST.
form_page = require_http_methods(["GET", "HEAD", "POST"])


def atomic_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs a POST in one transaction, so that it can lock what it checks
    before it writes; a GET pays for none."""

    @wraps(view)
    def view_in_transaction(
        request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        with transaction.atomic():
            return view(request, *args, **kwargs)

    return view_in_transaction


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind @login_required: its user is signed in."""

    user: User


class HtmxHttpRequest(HttpRequest):
    """A request that django-htmx's middleware has passed: it carries `htmx`."""

    htmx: HtmxDetails
