from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.clients import send, user_of
from tests.api.cycles.conftest import API, BASE, fields_of, has_offset
from tests.cycles.conftest import open_beside
from toc.accounts.models import Role
from toc.api.common import etag
from toc.api.cycles import NewestCycleFirst
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_close_and_continue


def test_list_shows_cycles_newest_first_with_chain_and_links(personas, cycle, viewer):
    open_beside(cycle, "Second")
    response = viewer.get(f"{API}/")
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert (first["number"], second["number"]) == (2, 1)
    assert second["title"] == "Features saturate"
    assert second["status"] == "open"
    assert second["created_by"] == user_of(personas, Role.ADMIN).username
    assert first["created_by"] is None
    assert second["closed_at"] is None
    assert has_offset(second["created"])
    assert second["url"] == f"http://testserver{BASE}/"
    assert [step["key"] for step in second["chain"]] == [
        "goal",
        "problem",
        "conflict",
        "innovation",
        "experiment",
        "rollout",
        "outcome",
    ]
    assert {step["state"] for step in second["chain"]} <= {"missing", "draft", "done"}
    assert "Name the root-cause category." in second["chain"][1]["todo"]
    links = second["links"]
    assert links["close"] == f"http://testserver{BASE}/close/"
    assert links["records"]["problem"] == f"http://testserver{BASE}/problem/"
    assert links["lists"]["whys"] == f"http://testserver{BASE}/whys/"
    assert "features" not in links["lists"]
    for url in [*links["records"].values(), *links["lists"].values()]:
        assert viewer.get(url).status_code in (200, 404)  # validation: not yet


def test_list_filters_by_status_and_opening_day(personas, cycle, viewer):
    cycle_close_and_continue(cycle=cycle, user=None)
    Cycle.objects.filter(number=1).update(created=timezone.now() - timedelta(days=10))
    today = timezone.now().date()

    def numbers(query: str) -> list[int]:
        response = viewer.get(f"{API}/?{query}")
        assert response.status_code == 200, response.json()
        return [c["number"] for c in response.json()["results"]]

    assert numbers("status=closed") == [1]
    assert numbers("status=open") == [2]
    assert numbers(f"opened_from={today - timedelta(days=1)}") == [2]
    assert numbers(f"opened_to={today - timedelta(days=1)}") == [1]
    assert numbers(f"opened_from={today - timedelta(days=10)}&opened_to={today}") == [
        2,
        1,
    ]


def test_invalid_filters_are_field_errors(personas, cycle, viewer):
    response = viewer.get(f"{API}/?status=paused&opened_from=2025-13-01")
    assert response.status_code == 400
    assert fields_of(response) == {"status", "opened_from"}
    response = viewer.get(f"{API}/?opened_from=2025-03-14&opened_to=2025-03-01")
    assert response.json() == {
        "errors": [
            {"field": "opened_to", "message": "Pick a day on or after the first one."}
        ]
    }


def test_a_filter_sent_empty_is_refused_as_the_schema_types_it(cycle, viewer):
    response = viewer.get(f"{API}/?status=&opened_to=")
    assert response.status_code == 400
    assert fields_of(response) == {"status", "opened_to"}
    assert "Leave the filter out" in response.json()["errors"][0]["message"]


def test_list_is_cursor_paginated(personas, cycle, viewer, monkeypatch):
    for title in ("Second", "Third"):
        open_beside(cycle, title)
    monkeypatch.setattr(NewestCycleFirst, "page_size", 2)
    body = viewer.get(f"{API}/").json()
    assert [c["number"] for c in body["results"]] == [3, 2]
    assert body["previous"] is None
    following = viewer.get(body["next"]).json()
    assert [c["number"] for c in following["results"]] == [1]
    assert following["next"] is None


def test_editor_opens_a_cycle(personas, editor):
    response = send(editor, "post", f"{API}/", {"title": "Cache the features"})
    assert response.status_code == 201, response.json()
    cycle = Cycle.objects.get()
    assert (cycle.number, cycle.title) == (1, "Cache the features")
    assert cycle.created_by == user_of(personas, Role.EDITOR)
    assert response.json()["number"] == 1
    recorded = response.json()["slos_opened"]
    assert [slo["name"] for slo in recorded][:2] == [
        "Time to decision (p95)",
        "Actionable alerts per day",
    ]
    assert recorded == cycle.slos_opened
    assert response.json()["slos_closed"] is None
    assert response["Location"] == f"http://testserver{BASE}/"
    assert response["ETag"] == etag(response.json())


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"title": "Fine", "colour": "red"}, "colour", "Unknown field"),
        (["Fine"], None, "Send a JSON object."),
    ],
)
def test_invalid_new_cycle_is_a_field_error(personas, editor, body, field, message):
    response = send(editor, "post", f"{API}/", body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert not Cycle.objects.exists()


def test_viewer_reads_but_cannot_open_a_cycle(personas, cycle, viewer):
    assert viewer.get(f"{BASE}/").status_code == 200
    response = send(viewer, "post", f"{API}/", {"title": "Mine"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "This needs the editor role."
    assert Cycle.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"{API}/"),
        ("post", f"{API}/"),
        ("get", f"{BASE}/"),
        ("post", f"{BASE}/close/"),
        ("get", f"{BASE}/problem/"),
        ("patch", f"{BASE}/problem/"),
    ],
)
def test_anonymous_is_asked_for_a_token(personas, cycle, method, url):
    response = send(Client(), method, url, {"title": "x"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Cycle.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"{API}/"),
        ("post", f"{API}/"),
        ("get", f"{BASE}/"),
        ("post", f"{BASE}/close/"),
        ("get", f"{BASE}/problem/"),
        ("put", f"{BASE}/problem/"),
    ],
)
def test_another_teams_cycles_are_not_found(personas, cycle, outsider, method, url):
    response = send(outsider, method, url, {"title": "Theirs", "statement": "x"})
    assert response.status_code == 404
    assert Cycle.objects.count() == 1
    assert cycle.problem.statement == ""


def test_an_ingest_key_cannot_read_cycles(personas, cycle, ingest_key):
    response = Client().get(
        f"{API}/", headers={"Authorization": f"Bearer {ingest_key}"}
    )
    assert response.status_code == 403


def test_cycle_has_an_etag_and_unknown_numbers_are_404(personas, cycle, viewer):
    response = viewer.get(f"{BASE}/")
    assert response.status_code == 200
    assert response["ETag"] == etag(response.json())
    assert response.json()["number"] == 1
    assert viewer.get(f"{API}/9/").json() == {
        "errors": [{"field": None, "message": "No such cycle."}]
    }


def test_session_login_works_too(personas, cycle):
    assert personas.viewer.get(f"{BASE}/").status_code == 200


def test_editor_closes_a_cycle_and_gets_the_next(personas, cycle, editor):
    # Close takes no body: one sent is not read.
    response = send(editor, "post", f"{BASE}/close/", {"title": "Not this"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["title"]) == (2, "After Features saturate")
    assert response["Location"] == f"http://testserver{API}/2/"
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED
    assert cycle.closed_at is not None
    closed = editor.get(f"{BASE}/").json()
    assert closed["status"] == "closed"
    assert has_offset(closed["closed_at"])
    # A second click does not open a third cycle.
    again = editor.post(f"{BASE}/close/")
    assert again.status_code == 403
    assert "closed" in again.json()["errors"][0]["message"]
    assert Cycle.objects.count() == 2


def test_viewer_cannot_close_a_cycle(personas, cycle, viewer):
    assert viewer.post(f"{BASE}/close/").status_code == 403
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.OPEN
    assert Cycle.objects.count() == 1


def test_list_reads_a_fixed_number_of_queries(personas, cycle, viewer):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(f"{API}/").status_code == 200
        return len(captured)

    queries()  # the token's first use records when it was used
    few = queries()
    for title in ("Second", "Third", "Fourth"):
        open_beside(cycle, title)
    assert queries() == few
