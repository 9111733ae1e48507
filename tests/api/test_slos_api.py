"""A system's SLOs through the API: listed with their live readings, written
through the browser's form, reordered, and measured by bots."""

from __future__ import annotations

from django.test import Client

from tests.api.clients import send, user_of
from tests.api.cycles.bodies import SLO
from toc.accounts.models import Role
from toc.api.common import PageNumbers, etag
from toc.systems.models import Slo

BASE = "/api/v1/systems/fraud/slos"


def _slo(personas, **changes) -> Slo:
    slo = personas.system.slos.get(position=0)
    for name, value in changes.items():
        setattr(slo, name, value)
    if changes:
        slo.save()
    return slo


def _measurements(slo: Slo) -> str:
    return f"{BASE}/{slo.pk}/measurements/"


def test_the_standard_slos_are_listed_with_what_the_browser_shows(personas, viewer):
    Slo.objects.filter(system=personas.system, position=0).update(target=5, measured=3)
    results = viewer.get(f"{BASE}/").json()["results"]
    assert [s["position"] for s in results] == [0, 1, 2, 3, 4]
    assert results[0]["name"] == "Time to decision (p95)"
    assert results[0]["derived"] == {"live": False, "measured": 3, "status": "met"}
    assert results[1]["derived"]["status"] is None  # no target


def test_an_editor_adds_an_slo_at_the_end(personas, editor):
    response = send(editor, "post", f"{BASE}/", SLO)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in SLO} == SLO
    assert body["position"] == 5
    assert response["Location"].endswith(f"{BASE}/{body['id']}/")
    assert editor.get(response["Location"]).json() == body


def test_an_invalid_slo_is_refused_whole(personas, editor):
    before = Slo.objects.count()
    for body, field in [
        ({**SLO, "target": 1e13}, "target"),
        ({**SLO, "comparator": "~"}, "comparator"),
        ({**SLO, "name": ""}, "name"),
        ({**SLO, "colour": "red"}, "colour"),
    ]:
        response = send(editor, "post", f"{BASE}/", body)
        assert response.status_code == 400
        assert field in {e["field"] for e in response.json()["errors"]}
    assert Slo.objects.count() == before


def test_patch_changes_one_field_and_if_match_guards_it(personas, editor):
    slo = _slo(personas)
    url = f"{BASE}/{slo.pk}/"
    read = editor.get(url)
    response = send(editor, "patch", url, {"target": 5}, If_Match=read["ETag"])
    assert response.status_code == 200, response.json()
    assert response.json()["target"] == 5
    stale = send(editor, "patch", url, {"target": 6}, If_Match=read["ETag"])
    assert stale.status_code == 412
    slo.refresh_from_db()
    assert slo.target == 5


def test_live_value_does_not_change_the_etag(personas, viewer):
    slo = _slo(personas, measured_from="last_stage_p95", measured=99, target=5)
    response = viewer.get(f"{BASE}/{slo.pk}/")
    body = response.json()
    assert body["measured"] == 99  # as stored
    assert body["derived"] == {"live": True, "measured": None, "status": "unknown"}
    assert response["ETag"] == etag({k: v for k, v in body.items() if k != "derived"})


def test_moving_and_deleting_keep_the_positions_whole(personas, editor):
    first, second = personas.system.slos.all()[:2]
    moved = send(editor, "post", f"{BASE}/{first.pk}/move/", {"direction": "down"})
    assert moved.status_code == 200
    assert moved.json()["position"] == 1
    assert send(editor, "delete", f"{BASE}/{second.pk}/").status_code == 204
    names = [s.name for s in personas.system.slos.all()]
    assert names[0] == first.name
    assert [s.position for s in personas.system.slos.all()] == [0, 1, 2, 3]
    bad = send(editor, "post", f"{BASE}/{first.pk}/move/", {"direction": "left"})
    assert bad.status_code == 400


def test_who_may_read_and_write(personas, viewer, outsider):
    slo = _slo(personas)
    assert viewer.get(f"{BASE}/").status_code == 200
    assert send(viewer, "post", f"{BASE}/", SLO).status_code == 403
    assert send(viewer, "patch", f"{BASE}/{slo.pk}/", {"target": 1}).status_code == 403
    assert send(viewer, "delete", f"{BASE}/{slo.pk}/").status_code == 403
    assert outsider.get(f"{BASE}/").status_code == 404
    assert outsider.get(f"{BASE}/{slo.pk}/").status_code == 404
    assert send(outsider, "post", f"{BASE}/", SLO).status_code == 404
    theirs = Slo.objects.filter(system__slug="other").first()
    assert viewer.get(f"{BASE}/{theirs.pk}/").status_code == 404
    slo.refresh_from_db()
    assert slo.target is None


def test_a_bot_posts_a_measurement(personas, editor):
    slo = _slo(personas)
    response = send(editor, "post", _measurements(slo), {"value": 4.5})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["value"] == 4.5
    assert body["by"] == user_of(personas, Role.EDITOR).username
    slo.refresh_from_db()
    assert slo.measured == 4.5
    assert editor.get(f"{BASE}/{slo.pk}/").json()["measured"] == 4.5


def test_measurements_are_listed_newest_first_and_paginated(
    personas, editor, viewer, monkeypatch
):
    slo = _slo(personas)
    for value in (3, 3, 2):  # the same value posted twice is two measurements
        send(editor, "post", _measurements(slo), {"value": value})
    # A value typed in the row counts; a target change alone does not.
    send(editor, "patch", f"{BASE}/{slo.pk}/", {"measured": 1})
    send(editor, "patch", f"{BASE}/{slo.pk}/", {"target": 5})
    body = viewer.get(_measurements(slo)).json()
    assert [m["value"] for m in body["results"]] == [1, 2, 3, 3]
    assert body["count"] == 4
    monkeypatch.setattr(PageNumbers, "page_size", 3)
    page = viewer.get(_measurements(slo)).json()
    assert [m["value"] for m in page["results"]] == [1, 2, 3]
    assert [m["value"] for m in viewer.get(page["next"]).json()["results"]] == [3]
    empty = viewer.get(_measurements(slo) + "?page=")
    assert empty.status_code == 400


def test_a_live_slo_takes_no_measurements(personas, editor):
    slo = _slo(personas, measured_from="data_loss")
    response = send(editor, "post", _measurements(slo), {"value": 1})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "value"
    assert "read off the ledger" in error["message"]
    slo.refresh_from_db()
    assert slo.measured is None


def test_a_measurement_must_be_a_number(personas, editor):
    slo = _slo(personas)
    for body, field, message in [
        ({"value": "fast"}, "value", "Send a number."),
        ({"value": True}, "value", "Send a number."),
        ({}, "value", "This field is required."),
        ({"value": 1, "unit": "ms"}, "unit", "Unknown field; this takes value."),
    ]:
        response = send(editor, "post", _measurements(slo), body)
        assert response.status_code == 400
        assert response.json()["errors"] == [{"field": field, "message": message}]
    slo.refresh_from_db()
    assert slo.measured is None


def test_who_may_post_and_read_measurements(personas, viewer, outsider):
    slo = _slo(personas)
    assert send(viewer, "post", _measurements(slo), {"value": 1}).status_code == 403
    assert viewer.get(_measurements(slo)).status_code == 200
    assert send(outsider, "post", _measurements(slo), {"value": 1}).status_code == 404
    anonymous = send(Client(), "post", _measurements(slo), {"value": 1})
    assert anonymous.status_code == 401
    slo.refresh_from_db()
    assert slo.measured is None
