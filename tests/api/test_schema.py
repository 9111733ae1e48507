"""The OpenAPI schema is generated from the views: valid, without warnings, and
covering every API route and method the URL conf has."""

from __future__ import annotations

import re

import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def api_operations() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route under /api/v1/, read off the URL conf."""
    operations = set()
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        if not route.startswith("api/v1/") or view is None:
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        operations |= {(path, m) for m in METHODS if hasattr(view, m)}
    return operations


def test_schema_is_valid_openapi_3_without_warnings(tmp_path, settings):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn: an unguessable body or a clashing name fails the build.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_api_route_and_method_is_in_the_schema():
    schema = yaml.safe_load(Client().get("/api/schema/").content)
    documented = {
        (path, method) for path, item in schema["paths"].items() for method in item
    }
    routes = api_operations()
    assert len(routes) > 50
    assert routes - documented == set()
    assert documented - routes == set()


def test_the_docs_page_is_served_from_our_own_static_files():
    page = Client().get("/api/docs/").content.decode()
    assert (
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    )
    assert "<style>" not in page
    assert "cdn" not in page.lower()
