"""/api/v1/metrics: toc's findings in Prometheus's text format, for a token's teams."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.samples import steady_pipeline


def _samples(response) -> dict[str, dict[tuple, float]]:
    """Metric name → {(label, value) pairs: value}."""
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                sample.value
            )
    return found


def _run_pipeline(post_samples) -> None:
    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    samples = steady_pipeline(
        ["ingest", "features", "inference"], start, 20, {"features": 0.95}
    )
    assert post_samples(samples).status_code == 202


def test_a_teams_token_reads_its_systems_findings(post_samples, personas, viewer):
    _run_pipeline(post_samples)

    response = viewer.get("/api/v1/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = _samples(response)
    assert found["toc_constraint"] == {
        (("stage", "features"), ("system", "fraud")): 1.0
    }
    assert found["toc_ledger_stale"] == {(("system", "fraud"),): 0.0}
    assert 0 <= found["toc_ledger_age_seconds"][(("system", "fraud"),)] < 600
    utilization = found["toc_stage_utilization_ratio"]
    assert utilization[(("stage", "features"), ("system", "fraud"))] == 0.95
    headroom = found["toc_stage_headroom_ratio"]
    assert (
        headroom[(("stage", "features"), ("system", "fraud"))]
        < headroom[(("stage", "ingest"), ("system", "fraud"))]
    )
    assert {labels[0][1] for labels in found["toc_stage_queue_depth"]} == {
        "features",
        "inference",
        "ingest",
    }


def test_a_system_without_data_reports_nothing_rather_than_zeros(personas, viewer):
    response = viewer.get("/api/v1/metrics")
    assert response.status_code == 200
    assert _samples(response) == {}


def test_another_teams_token_sees_none_of_it(post_samples, personas, outsider):
    _run_pipeline(post_samples)
    response = outsider.get("/api/v1/metrics")
    assert response.status_code == 200
    assert "fraud" not in response.content.decode()
    assert _samples(response) == {}


def test_without_a_token_or_with_an_ingest_key_it_is_refused(ingest_key, personas):
    anonymous = Client().get("/api/v1/metrics")
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    key = Client(headers={"Authorization": f"Bearer {ingest_key}"}).get(
        "/api/v1/metrics"
    )
    assert key.status_code == 403
