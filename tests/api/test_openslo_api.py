"""A system's SLOs as OpenSLO v1 YAML through the API: imported (created or
updated, all or nothing), refused with the problem named, exported so that an
export imports again unchanged."""

from __future__ import annotations

import pytest
import yaml
from django.db import connection
from django.test import Client

from tests.api.clients import token_of
from tests.races.conftest import AT_ONCE, api_client, at_once, statuses
from toc.accounts.models import Role
from toc.systems.models import Slo

URL = "/api/v1/systems/fraud/slos/openslo/"

# A threshold on a stage's field (toc's own source) and a Datadog ratio toc
# cannot read, referenced as an SLI document.
BODY = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: scoring-latency
  displayName: Scoring within 2 seconds
  annotations:
    toc/dimension: time_to_decision
spec:
  service: fraud
  indicator:
    metadata:
      name: inference-p95
    spec:
      thresholdMetric:
        metricSource:
          type: toc
          spec: {stage: inference, field: latency_p95_ms}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: lte
      value: 2000
      target: 0.99
      timeSliceTarget: 0.95
      timeSliceWindow: 1m
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        metricSourceRef: datadog-datasource
        type: Datadog
        spec:
          query: sum:trace.http.request.hits{http.status_code:200}.as_count()
    total:
      metricSource:
        metricSourceRef: datadog-datasource
        type: Datadog
        spec:
          query: sum:trace.http.request.hits{*}.as_count()
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout
spec:
  service: fraud
  indicatorRef: checkout-errors
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.9
"""


def post(client: Client, body: str, content_type: str = "application/yaml"):
    return client.post(URL, body, content_type=content_type)


def test_an_editor_imports_slos_from_openslo(personas, editor):
    before = Slo.objects.filter(system=personas.system).count()
    response = post(editor, BODY)
    assert response.status_code == 201, response.json()
    latency, checkout = response.json()
    assert latency["name"] == "Scoring within 2 seconds"
    assert latency["position"] == before
    slo = Slo.objects.get(pk=latency["id"])
    assert (slo.indicator, slo.stage, slo.field) == (
        "threshold",
        "inference",
        "latency_p95_ms",
    )
    assert (slo.comparator, slo.threshold, slo.objective) == ("<=", 2000, 0.99)
    assert (slo.budgeting, slo.timeslice_target, slo.window_days) == (
        "Timeslices",
        0.95,
        28,
    )
    assert (slo.dimension, slo.openslo_name) == ("time_to_decision", "scoring-latency")
    unbound = Slo.objects.get(pk=checkout["id"])
    assert unbound.indicator == "unbound"
    assert unbound.objective == 0.999
    assert unbound.name == "checkout"
    assert unbound.source["ratioMetric"]["good"]["metricSource"]["type"] == "Datadog"
    assert Slo.objects.filter(system=personas.system).count() == before + 2


def test_each_yaml_media_type_is_read(personas, editor):
    for media_type in ("application/x-yaml", "text/yaml"):
        assert post(editor, BODY, media_type).status_code == 201
    refused = post(editor, BODY, "application/json")
    assert refused.status_code == 415
    assert Slo.objects.filter(openslo_name="checkout").count() == 1


def test_importing_again_updates_the_slos_of_the_same_name(personas, editor):
    post(editor, BODY)
    before = Slo.objects.count()
    response = post(editor, BODY.replace("value: 2000", "value: 1500"))
    assert response.status_code == 201
    assert Slo.objects.count() == before
    assert Slo.objects.get(openslo_name="scoring-latency").threshold == 1500


def test_an_invalid_document_is_refused_naming_it_and_nothing_is_written(
    personas, editor
):
    before = Slo.objects.count()
    for body, message in [
        (
            BODY.replace("target: 0.99", "target: 99"),
            "document 1 (scoring-latency): spec.objectives[0].target must be "
            "between 0 and 1",
        ),
        (
            BODY.replace("indicatorRef: checkout-errors", "indicatorRef: checkout"),
            "document 3 (checkout): spec.indicatorRef names no kind: SLI document",
        ),
        (
            BODY.replace("stage: inference", "stage: scoring"),
            "document 1 (scoring-latency): the toc source's stage 'scoring' is not "
            "a stage of fraud (its stages: features, inference, ingest)",
        ),
        (
            BODY.replace("toc/dimension: time_to_decision", "toc/dimension: speed"),
            "document 1 (scoring-latency): metadata.annotations.toc/dimension: "
            "Select a valid choice.",
        ),
        (
            BODY.replace(
                "displayName: Scoring within 2 seconds", 'displayName: "a\\0"'
            ),
            "document 1 (scoring-latency): metadata.displayName holds a NUL",
        ),
        (
            BODY.replace(
                "query: sum:trace", 'query: "\\ud800"\n          q: sum:trace'
            ),
            "document 3 (checkout): the indicator's metricSource holds a NUL "
            "character or an unpaired surrogate",
        ),
        ("", "the body holds no kind: SLO document"),
        ("- [", "the body is not YAML"),
    ]:
        response = post(editor, body)
        assert response.status_code == 400, body
        [error] = response.json()["errors"]
        assert error["message"].startswith(message), error
    assert Slo.objects.count() == before


def test_the_second_document_failing_keeps_the_first_from_being_written(
    personas, editor
):
    response = post(editor, BODY.replace("targetPercent: 99.9", "targetPercent: 0"))
    assert response.status_code == 400
    assert "document 3 (checkout)" in response.json()["errors"][0]["message"]
    assert not Slo.objects.filter(openslo_name="scoring-latency").exists()


def test_the_export_imports_again_unchanged(personas, editor, viewer):
    assert post(editor, BODY).status_code == 201
    exported = viewer.get(URL)
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/yaml")
    text = exported.content.decode()
    fields = [
        f.name for f in Slo._meta.concrete_fields if f.name not in ("id", "system")
    ]
    rows = list(Slo.objects.order_by("pk").values_list(*fields))
    assert post(editor, text).status_code == 201
    assert list(Slo.objects.order_by("pk").values_list(*fields)) == rows
    assert viewer.get(URL).content.decode() == text


def test_the_export_names_the_slos_it_leaves_out(personas, viewer):
    # The standard SLOs have no indicator or objective yet.
    slo = personas.system.slos.get(position=0)
    text = viewer.get(URL).content.decode()
    first = text.splitlines()[0]
    assert first.startswith("# Not written, not OpenSLO SLOs yet: ")
    assert f"{slo.name} (no objective)" in first
    assert yaml.safe_load_all(text) is not None
    assert [d for d in yaml.safe_load_all(text) if d] == []


def test_an_slo_made_in_toc_is_exported_under_a_name_made_from_its_own(
    personas, editor, viewer
):
    slo = personas.system.slos.get(position=0)
    slo.indicator, slo.stage, slo.field = "ratio", "ingest", "dropped"
    slo.total_field, slo.objective = "throughput", 0.999
    slo.save()
    [document] = [d for d in yaml.safe_load_all(viewer.get(URL).content) if d]
    assert document["metadata"]["name"] == "time-to-decision-p95"
    assert document["spec"]["indicator"]["spec"]["ratioMetric"]["bad"] == {
        "metricSource": {"type": "toc", "spec": {"stage": "ingest", "field": "dropped"}}
    }
    count = Slo.objects.count()
    text = viewer.get(URL).content.decode()
    assert post(editor, text).status_code == 201
    assert Slo.objects.count() == count
    slo.refresh_from_db()
    assert slo.openslo_name == "time-to-decision-p95"


def test_roles_and_other_teams(personas, editor, viewer, outsider):
    assert post(viewer, BODY).status_code == 403
    assert viewer.get(URL).status_code == 200
    assert post(outsider, BODY).status_code == 404
    assert outsider.get(URL).status_code == 404
    assert Client().get(URL).status_code == 401
    assert outsider.get("/api/v1/systems/other/slos/openslo/").status_code == 200
    assert not Slo.objects.filter(openslo_name="checkout").exists()


def test_an_unbound_slo_is_bound_with_a_patch_and_exported_bound(
    personas, editor, viewer
):
    post(editor, BODY)
    slo = Slo.objects.get(openslo_name="checkout")
    binding = {
        "indicator": "ratio",
        "stage": "ingest",
        "field": "dropped",
        "total_field": "throughput",
    }
    url = f"/api/v1/systems/fraud/slos/{slo.pk}/"
    response = editor.patch(url, binding, content_type="application/json")
    assert response.status_code == 200, response.json()
    slo.refresh_from_db()
    assert (slo.indicator, slo.stage, slo.field, slo.total_field) == (
        "ratio",
        "ingest",
        "dropped",
        "throughput",
    )
    assert slo.is_live
    [document] = [
        d
        for d in yaml.safe_load_all(viewer.get(URL).content)
        if d and d["metadata"]["name"] == "checkout"
    ]
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["total"]["metricSource"]["spec"] == {
        "stage": "ingest",
        "field": "throughput",
    }
    # The export imports again unchanged, the source it was bound from kept.
    source = slo.source
    assert post(editor, viewer.get(URL).content.decode()).status_code == 201
    slo.refresh_from_db()
    assert (slo.indicator, slo.source) == ("ratio", source)
    wrong = editor.patch(url, {"stage": "scoring"}, content_type="application/json")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "stage"


def test_a_toc_field_the_worker_does_not_read_is_refused(personas, editor):
    response = post(editor, BODY.replace("field: latency_p95_ms", "field: p95"))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith(
        "document 1 (scoring-latency): the toc metricSource's spec.field: "
        "Choose one of latency_p95_ms, "
    )


def test_a_document_from_another_tool_keeps_what_it_does_not_state(personas, editor):
    post(editor, BODY)
    slo = Slo.objects.get(openslo_name="scoring-latency")
    slo.unit, slo.target = "s", 2
    slo.save()
    foreign = BODY.replace("  annotations:\n    toc/dimension: time_to_decision\n", "")
    assert "toc/" not in foreign
    assert post(editor, foreign.replace("value: 2000", "value: 900")).status_code == 201
    slo.refresh_from_db()
    assert (slo.dimension, slo.unit, slo.target) == ("time_to_decision", "s", 2)
    assert slo.threshold == 900


@pytest.mark.django_db(transaction=True)
def test_one_body_imported_at_once_makes_each_slo_once(personas):
    if connection.vendor != "postgresql":
        pytest.skip("Races need PostgreSQL: SQLite lets one writer in at a time.")
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [
            lambda: api.post(URL, BODY, content_type="application/yaml")
            for _ in range(AT_ONCE)
        ]
    )
    assert statuses(responses) == [201] * AT_ONCE
    names = Slo.objects.exclude(openslo_name="").values_list("openslo_name", flat=True)
    assert sorted(names) == ["checkout", "scoring-latency"]
