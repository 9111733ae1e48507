"""Which HTTP methods a page answers: anything else is a 405, never a page
rendered for a PUT or a DELETE it quietly ignored."""

from __future__ import annotations

from django.views.decorators.http import require_http_methods, require_safe

# A page that only shows something.
read_only = require_safe
# A page with a form: shown with GET, submitted with POST.
form_page = require_http_methods(["GET", "HEAD", "POST"])
