from __future__ import annotations

from django.test import Client

from tests.api.clients import send, user_of
from tests.api.cycles.conftest import BASE, has_offset
from tests.cycles.conftest import open_beside
from toc.accounts.models import Role
from toc.api.cycle_rows import NewestMeasurementFirst
from toc.cycles.services import cycle_close_and_continue


def _slo(cycle, **changes):
    slo = cycle.slos.get(position=0)
    for name, value in changes.items():
        setattr(slo, name, value)
    if changes:
        slo.save()
    return slo


def _url(slo) -> str:
    return f"{BASE}/slos/{slo.pk}/measurements/"


def test_a_bot_posts_a_measurement(personas, cycle, editor):
    slo = _slo(cycle)
    response = send(editor, "post", _url(slo), {"value": 4.5})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["value"] == 4.5
    assert body["by"] == user_of(personas, Role.EDITOR).username
    assert has_offset(body["at"])
    slo.refresh_from_db()
    assert slo.measured == 4.5
    latest = slo.history.first()
    assert (latest.measured, latest.history_user) == (
        4.5,
        user_of(personas, Role.EDITOR),
    )
    assert editor.get(f"{BASE}/slos/{slo.pk}/").json()["measured"] == 4.5


def test_measurements_are_listed_newest_first(personas, cycle, editor, viewer):
    slo = _slo(cycle)
    for value in (3, 3, 2):  # the same value posted twice is two measurements
        send(editor, "post", _url(slo), {"value": value})
    # A value typed in the row counts; a target change alone does not.
    send(editor, "patch", f"{BASE}/slos/{slo.pk}/", {"measured": 1})
    send(editor, "patch", f"{BASE}/slos/{slo.pk}/", {"target": 5})
    response = viewer.get(_url(slo))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [m["value"] for m in results] == [1, 2, 3, 3]
    assert [m["at"] for m in results] == sorted(
        (m["at"] for m in results), reverse=True
    )
    assert response.json()["count"] == 4


def test_measurements_are_paginated(personas, cycle, editor, viewer, monkeypatch):
    slo = _slo(cycle)
    for value in (1, 2, 3):
        send(editor, "post", _url(slo), {"value": value})
    monkeypatch.setattr(NewestMeasurementFirst, "page_size", 2)
    body = viewer.get(_url(slo)).json()
    assert [m["value"] for m in body["results"]] == [3, 2]
    assert [m["value"] for m in viewer.get(body["next"]).json()["results"]] == [1]


def test_a_live_slo_takes_no_measurements(personas, cycle, editor):
    slo = _slo(cycle, measured_from="data_loss")
    response = send(editor, "post", _url(slo), {"value": 1})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "value"
    assert "read off the ledger" in error["message"]
    slo.refresh_from_db()
    assert slo.measured is None


def test_a_measurement_must_be_a_number(personas, cycle, editor):
    slo = _slo(cycle)
    for body, field, message in [
        ({"value": "fast"}, "value", "Send a number."),
        ({"value": "4.5"}, "value", "Send a number."),
        ({"value": True}, "value", "Send a number."),
        ({}, "value", "This field is required."),
        ({"value": 1, "unit": "ms"}, "unit", "Unknown field; this takes value."),
    ]:
        response = send(editor, "post", _url(slo), body)
        assert response.status_code == 400
        assert response.json()["errors"] == [{"field": field, "message": message}]
    slo.refresh_from_db()
    assert slo.measured is None
    assert slo.history.count() == 1


def test_who_may_post_and_read_measurements(personas, cycle, viewer, outsider):
    slo = _slo(cycle)
    assert send(viewer, "post", _url(slo), {"value": 1}).status_code == 403
    assert viewer.get(_url(slo)).status_code == 200
    assert send(outsider, "post", _url(slo), {"value": 1}).status_code == 404
    assert outsider.get(_url(slo)).status_code == 404
    anonymous = send(Client(), "post", _url(slo), {"value": 1})
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    slo.refresh_from_db()
    assert slo.measured is None


def test_an_slo_of_another_cycle_is_not_found(personas, cycle, editor):
    other = open_beside(cycle, "Other")
    theirs = other.slos.first()
    response = send(editor, "post", _url(theirs), {"value": 1})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.measured is None


def test_a_closed_cycle_takes_no_measurements(personas, cycle, editor):
    slo = _slo(cycle)
    cycle_close_and_continue(cycle=cycle, user=None)
    assert send(editor, "post", _url(slo), {"value": 1}).status_code == 403
    slo.refresh_from_db()
    assert slo.measured is None


def test_an_empty_page_number_is_a_400_not_the_first_page(personas, cycle, viewer):
    response = viewer.get(_url(_slo(cycle)) + "?page=")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page"
