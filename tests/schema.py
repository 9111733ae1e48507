"""The OpenAPI schema as the API serves it, for the tests that read it."""

from __future__ import annotations

from functools import cache

from django.test import Client


# Generating the schema takes about half a second, and a dozen tests and two
# fuzz modules read it; it cannot change within a run. JSON, since parsing the
# YAML form took 2-3 s each time.
@cache
def served_schema() -> dict:
    return Client().get("/api/schema/", {"format": "json"}).json()
