"""Which HTTP methods a page answers: anything else is a 405, never a page
rendered for a PUT or a DELETE it quietly ignored. And the request a page behind
a login gets, as the type checker sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.views.decorators.http import require_http_methods, require_safe

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A page that only shows something.
read_only = require_safe
# A page with a form: shown with GET, submitted with POST.
form_page = require_http_methods(["GET", "HEAD", "POST"])


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind @login_required: its user is signed in."""

    user: User
