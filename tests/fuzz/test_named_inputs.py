"""The inputs issue 7 names, sent to every operation they fit, read off the
schema: integers past the column range, 1e308, NUL, lone surrogates (in JSON,
query strings and paths), year 9999, and bodies over the size limit. Each gets
a 4xx (or a 2xx, where the value is fine) with a JSON body, never a 5xx. And
every number a body takes has a range in the schema, which the API holds: a
value past it is a 400 naming the field.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from tests.api.clients import api_clients
from tests.api.cycles.bodies import SLO, VALID_ROWS
from tests.schema import served_schema
from toc.accounts.models import Role
from toc.metrics.models import Sample

SCHEMA = served_schema()
OPERATIONS = [
    (path, method, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
]
BODY_METHODS = ("post", "put", "patch")

# What each kind of value is replaced with.
INTEGERS = [2**31, 2**63, 2**64, -(2**63) - 1, 10**30]
NUMBERS = [1e308, -1e308, 2**1100]  # the last: an integer past any float
TEXTS = ["\x00", "bad\x00text", "\ud800", "a\udfffb"]
TIMES = [
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
]
# Query-string and path values, as a client would percent-encode them;
# %ED%A0%80 is a surrogate written as UTF-8, which is not valid UTF-8.
ENCODED = ["%00", "%ED%A0%80", "9999-12-31T23%3A59%3A59-23%3A59", "1e308", "9" * 30]

# Bodies that pass validation apart from the value under test, for the
# operations that create rather than patch.
CREATE_BODIES = {
    r"/cycles/\{number\}/(?P<kind>[\w-]+)/$": None,  # a row: VALID_ROWS[kind]
    r"/stages/\{stage\}/features/$": {
        "name": "f",
        "importance": 0.5,
        "compute_cost": 1,
    },
    r"/systems/\{slug\}/stages/$": {"name": "Extra", "unit": "records/s"},
    r"/systems/\{slug\}/slos/$": SLO,
    r"/teams/\{slug\}/webhooks/$": {
        "url": "https://hooks.example.com/toc",
        "events": ["constraint.moved"],
    },
    r"/systems/$": {"team": "{team}", "name": "New", "slug": "new"},
    r"/systems/\{slug\}/cycles/$": {"title": "Next"},
    r"/measurements/$": {"value": 1},
    r"/ingest-keys/$": {"name": "pipeline-2"},
    r"/move/$": {"direction": "down"},
    r"/teams/\{slug\}/members/$": {"username": "newcomer", "role": "viewer"},
    r"/teams/\{slug\}/invitations/$": {"email": "new@example.com", "role": "viewer"},
    r"/api/v1/tokens/$": {"name": "script"},
    r"/close/$": {},
    r"/reopen/$": {"reason": "Back"},
    r"/steps/\{step\}/comments/$": {"text": "Looks right"},
    r"/tools/littles-law/$": {
        "alerts_per_day": 100,
        "minutes_per_investigation": 5,
        "analysts": 2,
    },
    r"/tools/cascade/$": {
        "input_rate": 100,
        "tiers": [{"name": "t", "exit_share": 0.5, "cost_ms": 1}],
    },
    r"/tools/what-if/$": {
        "stages": [{"stage": "a", "capacity": 10, "load": 5}],
        "stage": "a",
        "factor": 2,
    },
}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _properties(operation: dict) -> dict:
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema")
    return _resolve(body).get("properties", {}) if body else {}


def _replacements(prop: dict) -> list:
    prop = _resolve(prop)
    kinds = {prop.get("type")} | {
        _resolve(option).get("type") for option in prop.get("oneOf", [])
    }
    if "integer" in kinds:
        return INTEGERS
    if "number" in kinds:
        return NUMBERS
    if "string" in kinds:
        return TIMES + TEXTS if prop.get("format") == "date-time" else TEXTS
    return []


def _url(path: str, ids: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "pk":
            return str(ids[re.search(r"/([\w-]+)/\{pk\}/", path).group(1)])
        if name == "slug" and path.startswith("/api/v1/teams/"):
            return str(ids["team"])
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", value, path)


def _base_body(path: str, method: str, ids: dict) -> dict | None:
    if method in ("put", "patch"):
        return {}  # over the record as it is (PUT: the form's defaults)
    for pattern, body in CREATE_BODIES.items():
        found = re.search(pattern, path)
        if found and body is not None:
            return {
                name: ids["team"] if value == "{team}" else value
                for name, value in body.items()
            }
        if found and found.group("kind") in VALID_ROWS:
            return dict(VALID_ROWS[found.group("kind")])
    return None


def _assert_json_4xx_or_2xx(response, what: str) -> None:
    assert response.status_code < 500, (what, response.content[:500])
    if response.status_code != 204:
        assert response["Content-Type"].startswith("application/json"), what
        json.loads(response.content)
    if response.status_code >= 400:
        assert response.json()["errors"], what


BODY_CASES = [
    (path, method, name, value)
    for path, method, operation in OPERATIONS
    if method in BODY_METHODS and "/samples/" not in path
    for name, prop in _properties(operation).items()
    for value in _replacements(prop)
]


def test_the_named_inputs_reach_every_field_the_api_writes():
    fields = {(path, method, name) for path, method, name, _ in BODY_CASES}
    assert len(fields) > 150
    assert len(BODY_CASES) > 600


# Every operation with a body, but those without a valid body to vary.
VARIED = sorted(
    {
        (path, method)
        for path, method, _, _ in BODY_CASES
        if _base_body(path, method, {"team": ""}) is not None
    }
)


def test_every_operation_with_a_body_is_varied():
    with_body = {(path, method) for path, method, _, _ in BODY_CASES}
    assert len(VARIED) > 55
    assert with_body - set(VARIED) == set()


@pytest.mark.parametrize(("path", "method"), VARIED)
def test_named_values_in_a_json_body_are_never_a_5xx(
    world, editor_client, path, method
):
    base = _base_body(path, method, world.ids)
    url = _url(path, world.ids)
    for path_, method_, name, value in BODY_CASES:
        if (path_, method_) != (path, method):
            continue
        body = json.dumps({**base, name: value})
        with transaction.atomic():
            response = getattr(editor_client, method)(
                url, body, content_type="application/json"
            )
            transaction.set_rollback(True)
        _assert_json_4xx_or_2xx(response, f"{method.upper()} {url} {name}={value!r}")


def _bounded(prop: dict) -> tuple[float, float] | None:
    prop = _resolve(prop)
    if "minimum" in prop and "maximum" in prop:
        return prop["minimum"], prop["maximum"]
    return None


# Numbers a body may carry without a range: an id; a sample's latency, which
# ingest takes up to the largest float (toc/metrics/ingest/checks.py); and a
# stage's items per hour, whose range starts above 0, which drf-spectacular
# cannot state (StageForm holds it).
UNRANGED = {"broken_assumption", "latency_p95_ms", "items_per_hour"}


def _numbers(schema: dict, where: str = "") -> list[tuple[str, dict]]:
    """The numbers a body takes, nested lists' items' included (a.b[].c)."""
    found = []
    for name, prop in _resolve(schema).get("properties", {}).items():
        prop = _resolve(prop)
        if prop.get("readOnly"):
            continue
        if prop.get("type") in ("number", "integer"):
            found.append((f"{where}{name}", prop))
        elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            found += _numbers(prop["items"], f"{where}{name}[].")
    return found


def test_every_number_a_body_takes_has_a_range_in_the_schema():
    unranged = {
        (path, method, name)
        for path, method, operation in OPERATIONS
        if method in BODY_METHODS
        and "requestBody" in operation
        # A YAML body (OpenSLO) is checked by its own parser's tests.
        and "application/json" in operation["requestBody"]["content"]
        for name, prop in _numbers(
            operation["requestBody"]["content"]["application/json"]["schema"]
        )
        if _bounded(prop) is None and name.rsplit(".", 1)[-1] not in UNRANGED
    }
    assert unranged == set()


# The values past their field's range, for each body field the schema bounds.
PAST_RANGE = [
    (path, method, name, value)
    for path, method, operation in OPERATIONS
    if method in BODY_METHODS and "/samples/" not in path
    for name, prop in _properties(operation).items()
    if (bounds := _bounded(prop))
    for value in [*_replacements(prop), -(10**12) - 1, 10**12 + 1]
    if not bounds[0] <= value <= bounds[1]
]


@pytest.mark.parametrize(
    ("path", "method"),
    sorted({(path, method) for path, method, _, _ in PAST_RANGE} & set(VARIED)),
)
def test_a_number_past_its_range_is_a_400_naming_the_field(
    world, editor_client, path, method
):
    base = _base_body(path, method, world.ids)
    url = _url(path, world.ids)
    if method == "patch" and editor_client.get(url).status_code == 404:
        return  # a record made by its first PUT (the validation): PUT tells
    for path_, method_, name, value in PAST_RANGE:
        if (path_, method_) != (path, method):
            continue
        with transaction.atomic():
            response = getattr(editor_client, method)(
                url, json.dumps({**base, name: value}), content_type="application/json"
            )
            transaction.set_rollback(True)
        what = f"{method.upper()} {url} {name}={value!r}"
        assert response.status_code == 400, (what, response.content[:300])
        fields = [error["field"] for error in response.json()["errors"]]
        assert name in fields, (what, fields)


QUERY_CASES = [
    (path, parameter["name"])
    for path, method, operation in OPERATIONS
    if method == "get"
    for parameter in operation.get("parameters", [])
    if parameter["in"] == "query"
]


def test_named_values_in_a_query_string_are_never_a_5xx(world, editor_client):
    assert len(QUERY_CASES) >= 10
    for path, parameter in QUERY_CASES:
        url = _url(path, world.ids)
        for value in ENCODED:
            response = editor_client.get(f"{url}?{parameter}={value}")
            _assert_json_4xx_or_2xx(response, f"GET {url}?{parameter}={value}")


def test_named_values_in_a_path_are_a_json_404(world, editor_client):
    paths = sorted({path for path, _, _ in OPERATIONS if "{" in path})
    for path in paths:
        real = _url(path, world.ids).split("/")
        for index, part in enumerate(path.split("/")):
            if not part.startswith("{"):
                continue
            for value in ENCODED:
                url = "/".join([*real[:index], value, *real[index + 1 :]])
                response = editor_client.get(url)
                # 405: the route matched (digits are a slug too) and takes no GET.
                assert response.status_code in (404, 405), (url, response.content)
                assert response.json()["errors"], url


def test_lone_surrogates_and_nul_in_json_are_400_everywhere(world, editor_client):
    for text in ('"\\ud800"', '"a\\u0000b"', '"\\udfff"'):
        body = '{"name": ' + text + "}"
        response = editor_client.patch(
            "/api/v1/systems/fraud/", body, content_type="application/json"
        )
        assert response.status_code == 400, response.content
        assert "NUL character or an unpaired surrogate" in str(response.json())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("throughput", 1e308),
        ("capacity", 5e-324),
        ("queue_depth", 2**63),
        ("errors", 10**12),
        ("failure_mode", "burst\x00loss"),
        ("failure_mode", "\ud800"),
        ("ts", "9999-12-31T23:59:59+00:00"),
        ("ts", "9999-12-31T23:59:59-23:59"),
        ("ts", "0001-01-01T00:00:00+23:59"),
        ("ts", "1969-12-31T23:59:59Z"),
    ],
)
def test_ingest_refuses_values_processing_could_not_handle(
    post_samples, recent, field, value
):
    sample = {
        "stage": "ingest",
        "ts": recent.isoformat(),
        "throughput": 100,
        "capacity": 200,
        "latency_p95_ms": 12,
        "queue_depth": 0,
        field: value,
    }
    response = post_samples([sample])
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert Sample.objects.count() == 0


def test_an_unknown_field_named_with_a_lone_surrogate_is_echoed_escaped(
    post_samples, recent
):
    body = json.dumps(
        {
            "samples": [
                {
                    "stage": "ingest",
                    "ts": recent.isoformat(),
                    "throughput": 1,
                    "capacity": 1,
                    "latency_p95_ms": 1,
                    "queue_depth": 0,
                    "\ud800x": 1,
                }
            ]
        }
    )
    response = post_samples(body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "\\ud800x"


def test_rates_at_the_limits_are_stored_and_read_back(post_samples, recent, personas):
    samples = [
        {
            "stage": "ingest",
            "ts": (recent.replace(second=second)).isoformat(),
            "throughput": 1e12,
            "capacity": 1e-9,
            "latency_p95_ms": 1e308,
            "queue_depth": 2**63 - 1,
            "errors": 10**11,
            "dropped": 10**11,
        }
        for second in range(3)
    ]
    assert post_samples(samples).status_code == 202
    viewer = api_clients(personas).viewer
    assert viewer.get("/api/v1/systems/fraud/ledger/").status_code == 200
    assert viewer.get("/api/v1/systems/fraud/series/").status_code == 200


def test_a_body_over_the_limit_is_a_json_413_on_every_operation(world, editor_client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert len(OPERATIONS) > 100
    for path, method, _ in OPERATIONS:
        # The declared length is what is refused, before a byte is read.
        response = editor_client.generic(
            method.upper(),
            _url(path, world.ids),
            b"{}",
            content_type="application/json",
            CONTENT_LENGTH=str(limit + 1),
        )
        assert response.status_code == 413, (method, path, response.content[:300])
        message = response.json()["errors"][0]["message"]
        assert message.startswith("The body is over"), (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/systems/fraud/samples/",
        "/api/v1/systems/fraud/stages/",
        "/api/v1/tools/cascade/",
    ],
)
def test_a_real_oversize_body_is_a_json_413(world, editor_client, path):
    body = json.dumps({"padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = editor_client.post(path, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["errors"]


@pytest.fixture
def editor_client(world) -> Client:
    return Client(headers={"Authorization": f"Bearer {world.tokens[Role.EDITOR]}"})
