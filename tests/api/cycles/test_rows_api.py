from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve

from tests.api.clients import send, token_client
from tests.api.cycles.bodies import VALID_ROWS
from tests.api.cycles.conftest import BASE, fields_of
from tests.cycles.conftest import open_beside
from toc.accounts.models import Role
from toc.cycles.models import Assumption, Tier, Why
from toc.cycles.services import cycle_close_and_continue


def _why(cycle, answer: str, position: int) -> Why:
    return Why.objects.create(problem=cycle.problem, answer=answer, position=position)


@pytest.mark.parametrize("key", sorted(VALID_ROWS))
def test_editor_adds_a_row_of_each_kind(personas, cycle, editor, key):
    response = send(editor, "post", f"{BASE}/{key}/", VALID_ROWS[key])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"http://testserver{BASE}/{key}/{body['id']}/"
    assert editor.get(response["Location"]).json() == body
    listed = editor.get(f"{BASE}/{key}/").json()["results"]
    assert body in listed
    for field, value in VALID_ROWS[key].items():
        assert body[field] == value


def test_rows_are_appended_in_order(personas, cycle, editor):
    for answer in ("First", "Second"):
        send(editor, "post", f"{BASE}/whys/", {"answer": answer})
    assert list(Why.objects.values_list("answer", "position")) == [
        ("First", 0),
        ("Second", 1),
    ]
    results = editor.get(f"{BASE}/whys/").json()["results"]
    assert [(w["answer"], w["position"], w["evidence"]) for w in results] == [
        ("First", 0, ""),
        ("Second", 1, ""),
    ]


def test_criteria_and_outcome_rows_are_judged(personas, cycle, editor):
    criterion = {**VALID_ROWS["criteria"], "result": 0}
    body = send(editor, "post", f"{BASE}/criteria/", criterion).json()
    assert body["derived"] == {"passed": True}
    body = send(editor, "post", f"{BASE}/outcome-rows/", VALID_ROWS["outcome-rows"])
    assert body.json()["derived"]["improved"] is True


@pytest.mark.parametrize(
    ("key", "body", "field", "message"),
    [
        ("whys", {"evidence": "x"}, "answer", "This field is required."),
        ("whys", {"answer": "x", "position": 3}, "position", "Unknown field"),
        (
            "tiers",
            {**VALID_ROWS["tiers"], "exit_share": 2},
            "exit_share",
            "Use a share between 0 and 1.",
        ),
        (
            "assumptions",
            {**VALID_ROWS["assumptions"], "verdict": "holds"},
            "reasoning",
            "Say why",
        ),
    ],
)
def test_invalid_row_is_a_field_error(
    personas, cycle, editor, key, body, field, message
):
    response = send(editor, "post", f"{BASE}/{key}/", body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert not (Why.objects.exists() or Tier.objects.exists())
    assert not Assumption.objects.exists()


def test_viewer_reads_rows_but_cannot_write_them(personas, cycle, viewer):
    why = _why(cycle, "Because", 0)
    assert viewer.get(f"{BASE}/whys/{why.pk}/").status_code == 200
    url = f"{BASE}/whys/{why.pk}/"
    for method, path, body in [
        ("post", f"{BASE}/whys/", {"answer": "Mine"}),
        ("patch", url, {"answer": "Mine"}),
        ("put", url, {"answer": "Mine"}),
        ("delete", url, None),
        ("post", f"{url}move/", {"direction": "down"}),
    ]:
        assert send(viewer, method, path, body).status_code == 403, (method, path)
    assert list(Why.objects.values_list("answer", flat=True)) == ["Because"]


def test_anonymous_and_outsider(personas, cycle, outsider):
    why = _why(cycle, "Because", 0)
    for url in (f"{BASE}/whys/", f"{BASE}/whys/{why.pk}/"):
        response = Client().get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert outsider.get(url).status_code == 404
    assert send(outsider, "delete", f"{BASE}/whys/{why.pk}/").status_code == 404
    assert Why.objects.exists()


def test_a_row_of_another_cycle_is_not_found(personas, cycle, editor):
    other = open_beside(cycle, "Other")
    theirs = _why(other, "Theirs", 0)
    for method in ("get", "patch", "delete"):
        response = send(editor, method, f"{BASE}/whys/{theirs.pk}/", {"answer": "x"})
        assert response.status_code == 404
        assert response.json()["errors"][0]["message"] == "No such why."
    assert Why.objects.get().answer == "Theirs"
    assert editor.get(f"{BASE}/features/").status_code == 404  # under stages


def test_put_replaces_and_patch_keeps(personas, cycle, editor):
    why = Why.objects.create(
        problem=cycle.problem, answer="A", evidence="E", validated=True, position=0
    )
    url = f"{BASE}/whys/{why.pk}/"
    response = send(editor, "patch", url, {"answer": "B"})
    assert response.status_code == 200
    assert (response.json()["evidence"], response.json()["validated"]) == ("E", True)
    response = send(editor, "put", url, {"answer": "C"})
    assert response.status_code == 200
    why.refresh_from_db()
    assert (why.answer, why.evidence, why.validated) == ("C", "", False)
    response = send(editor, "patch", url, {"answer": ""})
    assert fields_of(response) == {"answer"}
    why.refresh_from_db()
    assert why.answer == "C"


def test_stale_etag_is_a_failed_precondition_for_edit_and_delete(
    personas, cycle, editor
):
    admin = token_client(personas, Role.ADMIN)
    why = _why(cycle, "A", 0)
    url = f"{BASE}/whys/{why.pk}/"
    old = admin.get(url)["ETag"]
    send(editor, "patch", url, {"answer": "Editor's"})
    for method in ("patch", "put", "delete"):
        response = send(admin, method, url, {"answer": "Admin's"}, If_Match=old)
        assert response.status_code == 412
    why.refresh_from_db()
    assert why.answer == "Editor's"
    new = admin.get(url)["ETag"]
    response = send(admin, "patch", url, {"answer": "Admin's"}, If_Match=new)
    assert response.status_code == 200
    assert response["ETag"] != new
    assert send(admin, "delete", url, If_Match=response["ETag"]).status_code == 204
    assert not Why.objects.exists()


def test_deleting_closes_the_gap(personas, cycle, editor):
    whys = [_why(cycle, answer, i) for i, answer in enumerate("ABC")]
    assert send(editor, "delete", f"{BASE}/whys/{whys[0].pk}/").status_code == 204
    assert list(Why.objects.values_list("answer", "position")) == [
        ("B", 0),
        ("C", 1),
    ]


def test_deleting_the_broken_assumption_clears_the_choice(personas, cycle, editor):
    assumption = Assumption.objects.create(
        conflict=cycle.conflict, arrow="b_d", text="Depth"
    )
    cycle.conflict.broken_assumption = assumption
    cycle.conflict.save()
    url = f"{BASE}/assumptions/{assumption.pk}/"
    assert send(editor, "delete", url).status_code == 204
    cycle.conflict.refresh_from_db()
    assert cycle.conflict.broken_assumption is None
    assert cycle.conflict.history.first().broken_assumption_id is None


def test_editor_moves_a_row(personas, cycle, editor):
    whys = [_why(cycle, answer, i) for i, answer in enumerate("ABC")]
    response = send(
        editor, "post", f"{BASE}/whys/{whys[2].pk}/move/", {"direction": "up"}
    )
    assert response.status_code == 200
    assert response.json()["position"] == 1
    # The answer is the row as it now reads, ETag included.
    row = editor.get(f"{BASE}/whys/{whys[2].pk}/")
    assert response.json() == row.json()
    assert response["ETag"] == row["ETag"]
    assert list(Why.objects.order_by("position").values_list("answer", flat=True)) == [
        "A",
        "C",
        "B",
    ]
    response = send(editor, "post", f"{BASE}/whys/{whys[2].pk}/move/", {"direction": 1})
    assert response.status_code == 400
    assert fields_of(response) == {"direction"}
    response = send(editor, "post", f"{BASE}/whys/999999/move/", {"direction": "up"})
    assert response.status_code == 404


def test_unordered_lists_have_no_move(personas, cycle, editor):
    body = send(editor, "post", f"{BASE}/criteria/", VALID_ROWS["criteria"]).json()
    url = f"{BASE}/criteria/{body['id']}/move/"
    assert send(editor, "post", url, {"direction": "up"}).status_code == 404


def test_rows_are_paginated_in_order(personas, cycle, viewer, monkeypatch):
    for i, answer in enumerate("ABC"):
        _why(cycle, answer, i)
    pages = resolve(f"{BASE}/whys/").func.view_class.pagination_class
    monkeypatch.setattr(pages, "page_size", 2)
    body = viewer.get(f"{BASE}/whys/").json()
    assert [w["answer"] for w in body["results"]] == ["A", "B"]
    assert [w["answer"] for w in viewer.get(body["next"]).json()["results"]] == ["C"]


def test_closed_cycle_refuses_row_writes(personas, cycle, editor):
    why = _why(cycle, "A", 0)
    cycle_close_and_continue(cycle=cycle, user=None)
    url = f"{BASE}/whys/{why.pk}/"
    for method, path, body in [
        ("post", f"{BASE}/whys/", {"answer": "B"}),
        ("patch", url, {"answer": "B"}),
        ("delete", url, None),
        ("post", f"{url}move/", {"direction": "down"}),
    ]:
        response = send(editor, method, path, body)
        assert response.status_code == 403, (method, path)
    assert list(Why.objects.values_list("answer", flat=True)) == ["A"]
    assert editor.get(url).status_code == 200
