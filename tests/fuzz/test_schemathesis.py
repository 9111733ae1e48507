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
from schemathesis.specs.openapi.checks import ignored_auth

from tests.schema import served_schema
from toc.accounts.models import Role
from toc.wsgi import application


def _takes_only_a_path(operation: dict) -> bool:
    return "requestBody" not in operation and all(
        parameter["in"] == "path" for parameter in operation.get("parameters", [])
    )


# Operations whose only input is their path: once the path names real objects,
# every valid example is the same request, and the coverage phase already sends
# each kind of invalid path, so a single random example is all that is left.
ONLY_A_PATH = [
    operation["operationId"]
    for item in served_schema()["paths"].values()
    for operation in item.values()
    if _takes_only_a_path(operation)
]

# What refuses a request that breaks the schema: schemathesis's own list, and
# 412, since preconditions come before the body (RFC 9110, 13.2.1): a stale
# If-Match refuses a write whatever the body holds.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "412", "415"]
REJECTIONS += ["422", "428", "429", "5xx"]

config = schemathesis.Config.from_dict(
    {
        # NUL is refused everywhere (PostgreSQL cannot store it), which JSON
        # Schema cannot say; tests/fuzz/test_named_inputs.py covers it.
        "generation": {
            "mode": "all",
            "max-examples": int(os.environ.get("TOC_SCHEMATHESIS_EXAMPLES", "5")),
            "allow-x00": False,
        },
        "operations": [
            {"include-operation-id": ONLY_A_PATH, "generation": {"max-examples": 1}}
        ],
        "checks": {
            # A request can fit the schema and still break a rule the schema
            # cannot state (a team you are not in, a name already taken, `from`
            # after `to`, a team's last admin): a 400 naming the field, or a
            # 409, is the right answer to it. Any string fits If-Match, and
            # only the record's current ETag passes it: 412 for the rest.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412"]
            },
            "negative_data_rejection": {"expected-statuses": REJECTIONS},
        },
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", application, config=config
)

# Requests sent per operation, for the run's summary (see conftest).
CALLS: Counter[str] = Counter()

# Operations the ignored_auth check has seen refuse a request without the
# token and with a wrong one. After a 2xx it re-sends the request three times
# (no credentials, a wrong token, a wrong session); schemathesis's own runner
# does that once per operation, as enforcement is a property of the operation,
# but call_and_validate keeps no memory of it, and re-sent it for every 2xx:
# half the requests the run sent.
AUTH_ENFORCED: set[str] = set()

ROW = re.compile(r"/(\w[\w-]*)/\{pk\}/")


def _negative_path(case) -> bool:
    component = case.meta.components.get("path") if case.meta else None
    return bool(component and component.mode.value == "negative")


def _real_path_parameters(case, ids: dict) -> None:
    if not case.path_parameters or _negative_path(case):
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
    label = case.operation.label
    CALLS[label] += 1
    with transaction.atomic():
        try:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {world.tokens[Role.EDITOR]}"},
                excluded_checks=[ignored_auth] if label in AUTH_ENFORCED else [],
            )
        finally:
            transaction.set_rollback(True)
    if 200 <= response.status_code < 300 and not _negative_path(case):
        AUTH_ENFORCED.add(label)  # ignored_auth probed it, and it held
