"""A system's SLOs through the API: listed with their live readings, written
through the browser's form, reordered, and measured by bots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.clients import send, user_of
from tests.api.cycles.bodies import SLO
from tests.metrics.samples import sample
from toc.accounts.models import Role
from toc.api.common import PageNumbers, etag
from toc.metrics.models import PrometheusSource
from toc.metrics.slo_budgets import budgets_evaluate
from toc.systems.models import Slo

BASE = "/api/v1/systems/fraud/slos"
READING = ("live", "measured", "status")
BUDGET = (
    "compliance",
    "error_budget_remaining",
    "burn_rates",
    "alert",
    "alert_since",
    "window_start",
    "computed_at",
)


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
    derived = results[0]["derived"]
    assert {k: derived[k] for k in READING} == {
        "live": False,
        "measured": 3,
        "status": "met",
    }
    assert derived["evaluation"] == "not_live"
    assert {derived[k] for k in BUDGET} == {None}
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
    assert {k: body["derived"][k] for k in READING} == {
        "live": True,
        "measured": None,
        "status": "unknown",
    }
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


# A latency SLO bound to the last stage: 99% of minutes with a p95 under 100 ms.
BOUND = {
    **SLO,
    "name": "Fast decisions",
    "comparator": "<=",
    "target": 100,
    "unit": "ms",
    "indicator": "threshold",
    "stage": "inference",
    "field": "latency_p95_ms",
    "threshold": 100,
    "objective": 0.99,
}


def test_an_editor_binds_an_slo_and_reads_its_budget_from_the_worker(
    personas, editor, post_samples
):
    response = send(editor, "post", f"{BASE}/", BOUND)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["budgeting"] == "Timeslices"  # the defaults, as the form gives
    assert body["window_days"] == 28
    assert body["derived"]["evaluation"] == "pending"
    assert body["derived"]["compliance"] is None
    slo = Slo.objects.get(pk=body["id"])
    assert (slo.indicator, slo.stage, slo.threshold) == ("threshold", "inference", 100)

    end = timezone.now().replace(second=0, microsecond=0)
    post_samples(
        [
            sample(
                "inference",
                end - timedelta(minutes=age + 1),
                latency_p95_ms=500.0 if age < 2 else 20.0,
            )
            for age in range(20)
        ]
    )
    budgets_evaluate(end)
    etag_before = editor.get(f"{BASE}/{slo.pk}/")["ETag"]
    derived = editor.get(f"{BASE}/{slo.pk}/").json()["derived"]
    assert derived["evaluation"] == "evaluated"
    assert derived["compliance"] == pytest.approx(18 / 20)
    assert derived["error_budget_remaining"] == pytest.approx((0.9 - 0.99) / 0.01)
    assert derived["burn_rates"]["5m"] == pytest.approx((2 / 5) / 0.01)
    assert derived["alert"] == "page"
    assert derived["alert_since"] is not None
    listed = editor.get(f"{BASE}/").json()["results"]
    assert [s["derived"]["compliance"] for s in listed if s["id"] == slo.pk] == [
        derived["compliance"]
    ]
    # The worker's figures change every minute; the SLO, and its ETag, do not.
    budgets_evaluate(end + timedelta(minutes=1))
    assert editor.get(f"{BASE}/{slo.pk}/")["ETag"] == etag_before


def test_the_api_answers_from_the_stored_figures_without_computing(
    personas, editor, django_assert_max_num_queries
):
    send(editor, "post", f"{BASE}/", BOUND)
    send(editor, "post", f"{BASE}/", {**BOUND, "name": "Another"})
    budgets_evaluate()
    with django_assert_max_num_queries(12):
        results = editor.get(f"{BASE}/").json()["results"]
    assert [s["derived"]["evaluation"] for s in results[-2:]] == ["evaluated"] * 2


def test_a_promql_slo_is_not_evaluated_without_a_prometheus(personas, editor):
    body = {
        **BOUND,
        "indicator": "promql",
        "stage": "",
        "field": "",
        "threshold": None,
        "promql_good": 'sum(rate(http_requests_total{code!~"5.."}[1m]))',
        "promql_total": "sum(rate(http_requests_total[1m]))",
    }
    response = send(editor, "post", f"{BASE}/", body)
    assert response.status_code == 201, response.json()
    assert response.json()["derived"]["evaluation"] == "not_evaluated"
    # With a Prometheus to ask, the worker asks it.
    PrometheusSource.objects.create(system=personas.system, url="http://prom:9090")
    shown = editor.get(response["Location"]).json()["derived"]
    assert shown["evaluation"] == "pending"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"threshold": None}, "threshold", "needs this"),
        ({"stage": ""}, "stage", "needs this"),
        ({"stage": "scoring"}, "stage", "has no stage “scoring”"),
        ({"field": "colour"}, "field", "Choose one of"),
        ({"objective": 1}, "objective", "between 0 and 1"),
        ({"objective": 0}, "objective", "between 0 and 1"),
        ({"indicator": "ratio", "field": "dropped"}, "total_field", "needs this"),
        (
            {"indicator": "ratio", "field": "latency_p95_ms", "total_field": "dropped"},
            "field",
            "Choose one of",
        ),
        (
            {"indicator": "ratio", "field": "dropped", "total_field": "dropped"},
            "total_field",
            "other than the bad one",
        ),
        ({"indicator": "promql"}, "promql_good", "needs this"),
        ({"budgeting": "Sometimes"}, "budgeting", "not one of the available"),
        ({"timeslice_target": 1.5}, "timeslice_target", "up to 1"),
        ({"window_days": 0}, "window_days", "from 1 to 366"),
        ({"calendar": "year"}, "calendar", "not one of the available"),
    ],
)
def test_a_binding_that_cannot_be_read_is_refused_in_words(
    personas, editor, changes, field, words
):
    before = Slo.objects.count()
    response = send(editor, "post", f"{BASE}/", {**BOUND, **changes})
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert words in errors[field]
    assert Slo.objects.count() == before


def test_patch_binds_an_unbound_slo_to_a_stage(personas, editor):
    slo = _slo(
        personas,
        indicator="unbound",
        objective=0.99,
        source={"type": "datadog", "spec": {"query": "avg:latency{*}"}},
    )
    response = send(
        editor,
        "patch",
        f"{BASE}/{slo.pk}/",
        {
            "indicator": "threshold",
            "stage": "inference",
            "field": "latency_p95_ms",
            "threshold": 250,
        },
    )
    assert response.status_code == 200, response.json()
    slo.refresh_from_db()
    assert (slo.indicator, slo.stage, slo.threshold) == ("threshold", "inference", 250)
    assert response.json()["source"] == slo.source  # kept, read-only
