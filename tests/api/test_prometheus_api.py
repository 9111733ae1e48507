"""A system's Prometheus source through the API: set whole and checked by the
page's form, read back with what each query last did, and pulled on demand."""

from __future__ import annotations

from django.utils import timezone

from tests.api.clients import send
from toc.api.common import etag
from toc.metrics.models import PrometheusQuery, PrometheusSource

BASE = "/api/v1/systems/fraud/prometheus/"
REQUIRED = {
    "throughput": "sum(rate(features_records_total[1m]))",
    "capacity": "features_capacity",
    "latency_p95_ms": "histogram_quantile(0.95, sum by (le) "
    "(rate(features_duration_seconds_bucket[5m]))) * 1000",
    "queue_depth": 'sum(kafka_consumergroup_lag{consumergroup="scoring"})',
}
SOURCE = {
    "url": "http://127.0.0.1:9",
    "interval_s": 30,
    "stages": {"features": {**REQUIRED, "errors": "sum(rate(errors_total[1m])) * 10"}},
}


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_editor_sets_the_source_and_reads_it_back(personas, editor, viewer):
    response = send(editor, "put", BASE, SOURCE)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in SOURCE} == SOURCE
    assert body["derived"]["pulled_until"] is None
    assert body["derived"]["queries"]["features"]["errors"] == {
        "last_success_at": None,
        "last_error": "",
        "last_error_at": None,
        "failing": False,
    }
    read = viewer.get(BASE)
    assert read.json() == body
    assert read["ETag"] == response["ETag"] == etag(body)
    source = PrometheusSource.objects.get(system=personas.system)
    assert (source.url, source.interval_s) == ("http://127.0.0.1:9", 30)
    assert source.queries.count() == 5

    # PUT again replaces it whole: a query left out goes.
    again = {**SOURCE, "stages": {"features": REQUIRED}}
    response = send(editor, "put", BASE, again, If_Match=read["ETag"])
    assert response.status_code == 200
    assert response.json()["stages"] == {"features": REQUIRED}
    assert source.queries.count() == 4


def test_each_querys_last_success_and_error_are_read_outside_the_etag(editor):
    tag = send(editor, "put", BASE, SOURCE)["ETag"]
    PrometheusQuery.objects.filter(field="capacity").update(
        last_error="Prometheus refused the query: parse error",
        last_error_at=timezone.now(),
    )
    read = editor.get(BASE)
    status = read.json()["derived"]["queries"]["features"]["capacity"]
    assert status["last_error"] == "Prometheus refused the query: parse error"
    assert status["failing"] is True
    assert read["ETag"] == tag


def test_a_stale_if_match_is_refused(editor):
    tag = send(editor, "put", BASE, SOURCE)["ETag"]
    send(editor, "put", BASE, {**SOURCE, "interval_s": 60}, If_Match=tag)
    response = send(editor, "put", BASE, {**SOURCE, "interval_s": 90}, If_Match=tag)
    assert response.status_code == 412
    assert PrometheusSource.objects.get().interval_s == 60


def test_an_invalid_source_is_refused_whole_naming_each_stage_and_field(editor):
    body = {
        "url": "ftp://prometheus",
        "interval_s": 5,
        "stages": {
            "features": {**REQUIRED, "queue_depth": ""},
            "nope": {"throughput": "x"},
            "ingest": {"throughput": "x", "speed": "y", "errors": 3},
        },
    }
    errors = _errors(send(editor, "put", BASE, body))
    assert errors == {
        "stages.nope": "No such stage in this system; its stages are ingest, "
        "features, inference.",
        "stages.ingest.speed": "Not a sample field; one of throughput, capacity, "
        "utilization, latency_p95_ms, queue_depth, errors, dropped, blocked.",
        "stages.ingest.errors": "Send text (a JSON string).",
    }
    errors = _errors(
        send(
            editor,
            "put",
            BASE,
            {**body, "stages": {"features": body["stages"]["features"]}},
        )
    )
    assert errors == {
        "url": "Enter an http:// or https:// URL such as http://prometheus:9090.",
        "interval_s": "Ensure this value is greater than or equal to 10.",
        "stages.features.queue_depth": "Required: every sample of Features needs "
        "queue_depth, once any of its fields is pulled.",
    }
    assert not PrometheusSource.objects.exists()


def test_a_url_with_credentials_or_of_the_wrong_type_is_refused(editor):
    errors = _errors(
        send(editor, "put", BASE, {**SOURCE, "url": "http://me:secret@prom:9090"})
    )
    assert errors == {"url": "Leave the user name and password out of the URL."}
    errors = _errors(send(editor, "put", BASE, {**SOURCE, "url": 9090, "extra": 1}))
    assert errors == {
        "url": "Send text (a JSON string).",
        "extra": "Unknown field; a source takes url, interval_s, stages.",
    }
    # A host without a dot, as on a team's own network, is fine.
    response = send(editor, "put", BASE, {**SOURCE, "url": "http://prometheus:9090"})
    assert response.status_code == 201


def test_a_stage_of_people_may_leave_its_capacity_out(personas, editor):
    stage = personas.system.stages.get(slug="features")
    stage.kind, stage.people, stage.items_per_hour = "human", 3, 20
    stage.save()
    without = {k: v for k, v in REQUIRED.items() if k != "capacity"}
    response = send(editor, "put", BASE, {**SOURCE, "stages": {"features": without}})
    assert response.status_code == 201, response.json()


def test_viewers_read_and_editors_write(editor, viewer, outsider):
    assert viewer.get(BASE).status_code == 404  # none yet
    assert send(viewer, "put", BASE, SOURCE).status_code == 403
    assert send(editor, "put", BASE, SOURCE).status_code == 201
    assert viewer.get(BASE).status_code == 200
    assert send(viewer, "post", f"{BASE}pull/").status_code == 403
    assert not PrometheusSource.objects.filter(attempted_at__isnull=False).exists()


def test_another_teams_system_is_not_found(editor, outsider):
    send(editor, "put", BASE, SOURCE)
    assert outsider.get(BASE).status_code == 404
    assert send(outsider, "put", BASE, SOURCE).status_code == 404
    assert send(outsider, "post", f"{BASE}pull/").status_code == 404
    assert PrometheusSource.objects.get().url == SOURCE["url"]


def test_a_pull_asked_for_is_queued_and_runs(editor):
    assert send(editor, "post", f"{BASE}pull/").status_code == 404  # no source
    send(editor, "put", BASE, SOURCE)
    response = send(editor, "post", f"{BASE}pull/")
    assert response.status_code == 202
    # Tasks run in the test's process: the pull has run, against a closed port.
    status = editor.get(BASE).json()["derived"]["queries"]["features"]["capacity"]
    assert status["last_error"].startswith("Could not connect to Prometheus at ")
    assert status["failing"] is True
