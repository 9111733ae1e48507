"""The request of a page that htmx may ask for, as the type checker sees it."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that django-htmx's middleware has passed: it carries `htmx`."""

    htmx: HtmxDetails
