"""A cycle's exports, retrospective and audit trail through the API: what the
pages show, reached with a personal token."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.api.clients import user_of
from tests.api.cycles.conftest import BASE
from tests.cycles.conftest import backdate, day_ago
from toc.accounts.models import Role
from toc.api.common import PageNumbers
from toc.cycles.models import Why
from toc.cycles.records import RECORDS, ROWS

PAGE = "/systems/fraud/cycles/1"


def test_markdown_export_with_a_token_is_the_pages_file(personas, cycle, viewer):
    Why.objects.create(problem=cycle.problem, position=0, answer="Too many features")
    response = viewer.get(f"{BASE}/export.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="fraud-cycle-1.md"'
    assert response.content == personas.viewer.get(f"{PAGE}/export.md").content
    assert "Too many features" in response.content.decode()


def test_json_export_with_a_token_is_the_pages_file(personas, cycle, viewer):
    response = viewer.get(f"{BASE}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    page = json.loads(personas.viewer.get(f"{PAGE}/export.json").content)
    del data["exported_at"], page["exported_at"]
    assert data == page
    assert (data["format"], data["version"]) == ("toc-cycle", 2)


def test_an_export_whatever_the_client_accepts_and_its_errors_in_json(
    cycle, viewer, outsider
):
    file = viewer.get(f"{BASE}/export.md", headers={"Accept": "text/markdown"})
    assert file.status_code == 200
    missing = outsider.get(f"{BASE}/export.md", headers={"Accept": "text/markdown"})
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json()["errors"][0]["message"] == "No such system."


def test_without_a_token_an_export_is_401_not_the_login_page(cycle):
    response = Client().get(f"{BASE}/export.json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_exports_as_of_a_day_show_the_past(personas, cycle, viewer):
    backdate(10)
    personas.teammate.post(f"{PAGE}/whys/add/", {"new-whys-answer": "Added later"})
    past = json.loads(viewer.get(f"{BASE}/export.json", {"as_of": day_ago(5)}).content)
    assert past["problem"]["whys"] == []
    assert past["as_of"] == f"{day_ago(5)}T23:59:59.999999+00:00"
    text = viewer.get(f"{BASE}/export.md", {"as_of": day_ago(5)}).content.decode()
    assert "Added later" not in text


@pytest.mark.parametrize("path", ["export.md", "export.json", "retrospective/"])
def test_as_of_before_the_cycle_is_a_404_that_says_why(cycle, viewer, path):
    response = viewer.get(f"{BASE}/{path}", {"as_of": "2001-01-01"})
    assert response.status_code == 404
    assert "did not exist yet then" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "as_of", ["soon", "2025-02-30", "2999-01-01", "0001-01-01T00:00:00+05:00"]
)
def test_an_unusable_as_of_is_a_400_naming_it(cycle, viewer, as_of):
    response = viewer.get(f"{BASE}/retrospective/", {"as_of": as_of})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "as_of"


def test_an_offset_far_from_utc_is_read_in_utc(cycle, viewer):
    # PostgreSQL refuses offsets beyond ±15:59, which Python allows.
    response = viewer.get(
        f"{BASE}/retrospective/", {"as_of": "2001-01-01T00:00:00+23:59"}
    )
    assert response.status_code == 404  # before the cycle, not a database error


def test_the_retrospective_shows_each_record_and_list_as_its_endpoint(cycle, viewer):
    Why.objects.create(problem=cycle.problem, position=0, answer="Slow features")
    response = viewer.get(f"{BASE}/retrospective/")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    body = response.json()
    assert body["as_of"] is None
    assert body["cycle"]["number"] == 1
    assert [s["step"] for s in body["steps"]] == [
        "goal",
        "problem",
        "conflict",
        "innovation",
        "experiment",
        "rollout",
        "outcome",
    ]
    for key in RECORDS:
        record = viewer.get(f"{BASE}/{key}/")
        assert body["records"][key] == (
            record.json() if record.status_code == 200 else None
        ), key
    for key, kind in ROWS.items():
        if not kind.shared:
            listed = viewer.get(f"{BASE}/{key}/").json()["results"]
            assert body["lists"][key] == listed, key
    assert body["lists"]["whys"][0]["answer"] == "Slow features"
    assert body["verdict"] == "incomplete"
    assert body["stage_names"]["features"] == "Features"


def test_the_retrospective_as_of_a_day_shows_the_cycle_then(personas, cycle, viewer):
    Why.objects.create(problem=cycle.problem, position=0, answer="Old why")
    backdate(10)
    personas.teammate.post(
        f"{PAGE}/problem/", {"form": "problem", "problem-statement": "Written today"}
    )
    past = viewer.get(f"{BASE}/retrospective/", {"as_of": day_ago(5)}).json()
    assert past["as_of"] == f"{day_ago(5)}T23:59:59.999999Z"
    assert past["records"]["problem"]["statement"] == ""
    assert [w["answer"] for w in past["lists"]["whys"]] == ["Old why"]
    assert past["records"]["validation"] is None
    now = viewer.get(f"{BASE}/retrospective/").json()
    assert now["records"]["problem"]["statement"] == "Written today"


def test_the_trail_is_the_pages_newest_first(personas, cycle, viewer):
    personas.teammate.post(
        f"{PAGE}/problem/", {"form": "problem", "problem-statement": "The queue"}
    )
    response = viewer.get(f"{BASE}/trail/")
    assert response.status_code == 200
    body = response.json()
    shown = personas.viewer.get(f"{PAGE}/trail/").context["trail"]
    assert body["count"] == len(shown)
    assert [(e["action"], e["record"], e["title"]) for e in body["results"]] == [
        (e.action, e.record, e.title) for e in shown
    ]
    newest = body["results"][0]
    assert (newest["action"], newest["record"]) == ("changed", "problem")
    assert newest["changes"] == [{"field": "Statement", "old": "", "new": "The queue"}]
    assert newest["who"] == user_of(personas, Role.EDITOR).username


def test_the_trail_is_page_numbered(cycle, viewer, monkeypatch):
    monkeypatch.setattr(PageNumbers, "page_size", 3)
    for n in range(5):
        Why.objects.create(problem=cycle.problem, position=n, answer=f"why {n}")
    first = viewer.get(f"{BASE}/trail/").json()
    assert [e["title"] for e in first["results"]] == ["why 4", "why 3", "why 2"]
    second = viewer.get(first["next"]).json()
    assert [e["title"] for e in second["results"]][:2] == ["why 1", "why 0"]
    assert viewer.get(f"{BASE}/trail/", {"page": "9"}).status_code == 404
    assert viewer.get(f"{BASE}/trail/", {"page": ""}).status_code == 400


@pytest.mark.parametrize(
    "path", ["export.md", "export.json", "retrospective/", "trail/"]
)
def test_outsiders_and_ingest_keys_get_nothing(cycle, outsider, ingest_key, path):
    assert outsider.get(f"{BASE}/{path}").status_code == 404
    key = Client(headers={"Authorization": f"Bearer {ingest_key}"})
    assert key.get(f"{BASE}/{path}").status_code == 403
