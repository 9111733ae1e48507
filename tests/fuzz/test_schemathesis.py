"""schemathesis over the OpenAPI schema, with every check it has.

Each operation is called by an editor with a personal token, with data that
fits the schema and data that does not. Every example runs in a savepoint that
is rolled back, so a DELETE of the system (or anything else) leaves the next
example the same world. Paths name real objects when the generated path
parameters are valid, and keep the generated junk when they are not.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from toc.accounts.models import Role
from toc.wsgi import application

config = schemathesis.Config.from_dict(
    {
        # NUL is refused everywhere (PostgreSQL cannot store it), which JSON
        # Schema cannot say; tests/fuzz/test_named_inputs.py covers it.
        "generation": {
            "mode": "all",
            "max-examples": int(os.environ.get("TOC_SCHEMATHESIS_EXAMPLES", "5")),
            "allow-x00": False,
        },
        "checks": {
            # A request can fit the schema and still break a rule the schema
            # cannot state (a team you are not in, a name already taken, `from`
            # after `to`): a 400 naming the field is the right answer to it.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
            },
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)

# Requests sent per operation, for the run's summary (see conftest).
CALLS: Counter[str] = Counter()

ROW = re.compile(r"/(\w[\w-]*)/\{pk\}/")

# Known gaps of the cycles API's schema, reported to its owner; every other
# check (a 5xx above all) runs on it too. To be emptied when they are fixed:
# - records and rows answer null for empty text and choices (statement,
#   root_cause, evidence, unit, …) where the schema says a non-null string;
# - the row moves are documented as answering the move, not the row;
# - close answers 201 (the next cycle), documented as 200, and takes no body;
# - the forms accept a non-JSON-typed value here and there that the schema
#   does not allow.
CYCLES_GAPS = [
    response_schema_conformance,
    status_code_conformance,
    negative_data_rejection,
]


def _real_path_parameters(case, ids: dict) -> None:
    component = case.meta.components.get("path") if case.meta else None
    if not case.path_parameters or (component and component.mode.value == "negative"):
        return
    for name in case.path_parameters:
        if name == "pk":
            case.path_parameters[name] = ids[ROW.search(case.path).group(1)]
        elif name == "slug" and case.path.startswith("/api/v1/teams/"):
            case.path_parameters[name] = ids["team"]
        else:
            case.path_parameters[name] = ids[name]


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_as_editor(case, world, wsgi_requests_share_the_test_transaction):
    _real_path_parameters(case, world.ids)
    CALLS[case.operation.label] += 1
    excluded = CYCLES_GAPS if "/cycles/" in case.path else []
    with transaction.atomic():
        try:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {world.tokens[Role.EDITOR]}"},
                excluded_checks=excluded,
            )
        finally:
            transaction.set_rollback(True)
