"""The OpenAPI schema is generated from the views: valid, without warnings, and
covering every API route and method the URL conf has."""

from __future__ import annotations

import yaml
from django.core.management import call_command
from django.test import Client

from tests.schema import served_schema
from tests.security.routes import ROUTE_ARGUMENT, all_routes

METHODS = ("get", "post", "put", "patch", "delete")


def api_operations() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route under /api/v1/, read off the URL conf."""
    operations = set()
    for route in all_routes():
        view = getattr(route.callback, "cls", None)
        if not route.route.startswith("api/v1/") or view is None:
            continue
        path = "/" + ROUTE_ARGUMENT.sub(r"{\2}", route.route)
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
    schema = served_schema()
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


def _operation(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][f"/api/v1/systems/{{slug}}/{path}"][method]


def _answer(operation: dict, status: str) -> str:
    return operation["responses"][status]["content"]["application/json"]["schema"][
        "$ref"
    ].rsplit("/", 1)[1]


def test_cycle_writes_are_documented_as_they_answer():
    schema = served_schema()
    close = _operation(schema, "cycles/{number}/close/", "post")
    assert "requestBody" not in close
    assert _answer(close, "201") == "Cycle"
    assert "200" not in close["responses"]
    for kind, row in [
        ("whys", "WhyRow"),
        ("phases", "RolloutPhaseRow"),
    ]:
        move = _operation(schema, f"cycles/{{number}}/{kind}/{{pk}}/move/", "post")
        assert _answer(move, "200") == row
        body = move["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("/RowMoveRequest")
    validation = _operation(schema, "cycles/{number}/validation/", "put")
    assert _answer(validation, "200") == _answer(validation, "201") == "Validation"


def test_only_the_rate_limited_operation_documents_429_and_its_retry_after():
    schema = served_schema()
    limited = {
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "429" in operation["responses"]
    }
    assert limited == {("/api/v1/systems/{slug}/samples/", "post")}
    answer = _operation(schema, "samples/", "post")["responses"]["429"]
    assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert answer["headers"]["Retry-After"]["required"] is True
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_412_415_and_503_are_documented_where_they_can_be_answered():
    schema = served_schema()
    operations = {
        (path, method): operation["responses"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    # Only writes that compare an If-Match can find the record changed.
    stale = {key for key, responses in operations.items() if "412" in responses}
    assert ("/api/v1/systems/{slug}/", "patch") in stale
    assert ("/api/v1/systems/{slug}/stages/{stage}/", "delete") in stale
    assert ("/api/v1/systems/{slug}/cycles/{number}/problem/", "put") in stale
    assert ("/api/v1/teams/{slug}/members/{username}/", "patch") in stale
    assert ("/api/v1/systems/{slug}/cycles/{number}/close/", "post") not in stale
    assert ("/api/v1/systems/{slug}/stages/", "post") not in stale
    assert all(method != "get" for _, method in stale)
    # Ingest reads its own body: a wrong type is a 400 that says so, never 415.
    ingest = operations[("/api/v1/systems/{slug}/samples/", "post")]
    assert "415" not in ingest
    assert "415" in operations[("/api/v1/systems/", "post")]
    assert all(
        "415" not in responses
        for (_, m), responses in operations.items()
        if m in ("get", "delete")
    )
    # Any operation may find the database down; each says how long to wait.
    for responses in operations.values():
        assert responses["503"]["headers"]["Retry-After"]["required"] is True


def test_if_match_is_declared_where_it_is_read_and_etag_where_it_is_sent():
    schema = served_schema()
    checked, stale, tagged = set(), set(), set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
                checked.add((path, method))
            if "412" in responses:
                stale.add((path, method))
            if "ETag" in responses.get("200", {}).get("headers", {}):
                tagged.add((path, method))
                assert responses["200"]["headers"]["ETag"]["required"] is True
    # If-Match is optional (no 428), and declared on each write that reads it.
    assert checked == stale
    assert ("/api/v1/teams/{slug}/members/{username}/", "delete") in checked
    # A client reads the ETag to send from the record's GET.
    for path, _ in checked:
        assert (path, "get") in tagged, path
    for single in [
        "/api/v1/systems/{slug}/cycles/{number}/",
        "/api/v1/systems/{slug}/cycles/{number}/retrospective/",
        "/api/v1/teams/{slug}/",
    ]:
        assert (single, "get") in tagged


def test_the_cycle_lists_filters_are_declared_as_the_page_takes_them():
    schema = served_schema()
    operation = schema["paths"]["/api/v1/systems/{slug}/cycles/"]["get"]
    query = {
        p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"
    }
    assert sorted(query["status"]["enum"]) == ["closed", "open"]
    assert (
        query["opened_from"]
        == query["opened_to"]
        == {
            "type": "string",
            "format": "date",
        }
    )


def test_exports_are_declared_with_their_media_types():
    schema = served_schema()
    cycle = "/api/v1/systems/{slug}/cycles/{number}/"
    markdown = schema["paths"][f"{cycle}export.md"]["get"]["responses"]
    assert list(markdown["200"]["content"]) == ["text/markdown"]
    assert list(markdown["404"]["content"]) == ["application/json"]
    json_file = schema["paths"][f"{cycle}export.json"]["get"]["responses"]["200"]
    shape = json_file["content"]["application/json"]["schema"]["$ref"]
    assert shape.endswith("/CycleExport")


def test_stages_of_people_are_documented_for_writes_reads_and_samples():
    components = served_schema()["components"]
    schemas = components["schemas"]
    write = schemas["PatchedStageWriteRequest"]["properties"]
    assert {"kind", "people", "items_per_hour"} <= set(write)
    assert write["people"]["nullable"] and write["people"]["minimum"] == 1
    assert schemas["StageKindEnum"]["enum"] == ["machine", "human"]
    read = schemas["Stage"]["properties"]
    assert read["capacity"]["readOnly"] and read["capacity"]["nullable"]
    sample = schemas["SampleRequest"]
    assert "capacity" not in sample["required"]
    assert "human" in sample["properties"]["capacity"]["description"]
