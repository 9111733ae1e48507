"""One cycle in progress per system, for scripts: a second open and a reopen
beside an open cycle are 409 naming it; a team admin reopens with a reason."""

from __future__ import annotations

import pytest

from tests.api.clients import send, token_client
from tests.api.cycles.conftest import API, BASE, fields_of
from tests.schema import served_schema
from toc.accounts.models import Role
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_close, cycle_close_and_continue


@pytest.fixture
def admin(personas):
    return token_client(personas, Role.ADMIN)


def test_opening_a_second_cycle_is_409_naming_the_open_one(cycle, editor) -> None:
    response = send(editor, "post", f"{API}/", {"title": "Second"})
    assert response.status_code == 409
    body = response.json()
    assert body["open_cycle"] == {
        "number": 1,
        "url": f"http://testserver{BASE}/",
    }
    assert body["errors"][0]["field"] is None
    assert body["errors"][0]["message"].startswith("Cycle 1 of ")
    assert "still in progress" in body["errors"][0]["message"]
    assert Cycle.objects.count() == 1


def test_an_admin_reopens_a_closed_cycle(personas, cycle, admin) -> None:
    cycle_close(cycle=cycle)
    response = send(admin, "post", f"{BASE}/reopen/", {"reason": "Rollout failed"})
    assert response.status_code == 200
    assert response["ETag"]
    assert (response.json()["number"], response.json()["status"]) == (1, "open")
    assert response.json()["closed_at"] is None
    cycle.refresh_from_db()
    assert cycle.stage_names == {}
    assert cycle.history.first().history_change_reason == "Rollout failed"


def test_a_reopen_needs_a_reason(cycle, admin) -> None:
    cycle_close(cycle=cycle)
    response = send(admin, "post", f"{BASE}/reopen/", {})
    assert response.status_code == 400
    assert fields_of(response) == {"reason"}
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_only_a_team_admin_reopens(cycle, editor, viewer, outsider) -> None:
    cycle_close(cycle=cycle)
    for client, status in [(editor, 403), (viewer, 403), (outsider, 404)]:
        response = send(client, "post", f"{BASE}/reopen/", {"reason": "Mine"})
        assert response.status_code == status
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_a_reopen_beside_an_open_cycle_is_409_naming_it(cycle, admin) -> None:
    cycle_close_and_continue(cycle=cycle)
    response = send(admin, "post", f"{BASE}/reopen/", {"reason": "Not done"})
    assert response.status_code == 409
    assert response.json()["open_cycle"]["number"] == 2
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_reopening_an_open_cycle_is_409_naming_itself(cycle, admin) -> None:
    response = send(admin, "post", f"{BASE}/reopen/", {"reason": "Twice"})
    assert response.status_code == 409
    assert response.json()["open_cycle"]["number"] == 1


def test_the_schema_documents_the_409s() -> None:
    schema = served_schema()
    paths = schema["paths"]
    opened = paths["/api/v1/systems/{slug}/cycles/"]["post"]["responses"]
    reopened = paths["/api/v1/systems/{slug}/cycles/{number}/reopen/"]["post"]
    for responses in (opened, reopened["responses"]):
        answer = responses["409"]["content"]["application/json"]["schema"]
        assert answer["$ref"].endswith("/InProgress")
    body = reopened["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/ReopenRequest")
