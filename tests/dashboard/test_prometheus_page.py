"""The system's Prometheus page: editors set the source and test what they
typed against a real Prometheus (tests/prometheus_server.py); viewers read
what each expression last did."""

from __future__ import annotations

from django.utils import timezone

from tests.prometheus_server import prometheus  # noqa: F401 (a fixture)
from toc.metrics import prometheus as pull
from toc.metrics.models import PrometheusQuery, PrometheusSource

PAGE = "/systems/fraud/prometheus/"
FEATURES = {
    "features.throughput": "sum(rate(features_records_total[1m]))",
    "features.capacity": "features_capacity",
    "features.latency_p95_ms": "features_latency_ms",
    "features.queue_depth": 'sum(kafka_consumergroup_lag{consumergroup="scoring"})',
}


def _form(url: str = "http://prometheus:9090", **queries: str) -> dict:
    return {"url": url, "interval_s": "30", **FEATURES, **queries}


def _row(content: str, stage: str, field: str) -> str:
    row = content[content.index(f'id="query-{stage}-{field}"') :]
    return row[: row.index("</tr>")]


def test_an_editor_saves_the_source(personas) -> None:
    response = personas.teammate.post(PAGE, _form())
    assert response.status_code == 302
    assert response["Location"] == PAGE
    source = PrometheusSource.objects.get(system=personas.system)
    assert (source.url, source.interval_s) == ("http://prometheus:9090", 30)
    saved = {
        f"{q.stage.slug}.{q.field}": q.promql
        for q in source.queries.select_related("stage")
    }
    assert saved == FEATURES
    content = personas.teammate.get(PAGE).content.decode()
    assert "Saved. The next pull reads every stage since the last one." in content
    assert 'value="features_capacity"' in content
    assert "not pulled yet" in _row(content, "features", "capacity")
    assert 'aria-current="page">Prometheus<' in content


def test_invalid_input_is_shown_with_what_was_typed(personas) -> None:
    typed = _form(url="prometheus:9090", **{"features.queue_depth": ""})
    typed["ingest.errors"] = "sum(rate(ingest_errors_total[1m])) * 10"
    response = personas.teammate.post(PAGE, typed)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Enter an http:// or https:// URL such as http://prometheus:9090." in content
    assert 'value="prometheus:9090"' in content
    assert 'value="sum(rate(ingest_errors_total[1m])) * 10"' in content
    assert "Required: every sample of Ingest needs throughput" in _row(
        content, "ingest", "throughput"
    )
    assert "Required: every sample of Features needs queue_depth" in _row(
        content, "features", "queue_depth"
    )
    assert not PrometheusSource.objects.exists()


def test_test_queries_shows_each_value_or_error_without_saving(
    personas,
    prometheus,  # noqa: F811
) -> None:
    server, exporter = prometheus
    exporter.set(
        features_capacity=1000,
        features_load=7.5,
        **{'lag{group="a"}': 3, 'lag{group="b"}': 4},
    )
    server.wait_for("features_load")
    typed = _form(
        url=server.url,
        **{
            "features.capacity": "features_capacity",
            "features.utilization": "features_load",
            "features.queue_depth": "sum(lag)",
            "features.latency_p95_ms": "lag",
            "features.throughput": "sum(rate(features_records_total[1m]",
            "features.errors": "nothing_is_called_this",
        },
    )
    response = personas.teammate.post(f"{PAGE}test/", typed)

    assert response.status_code == 200
    content = response.content.decode()
    capacity = _row(content, "features", "capacity")
    assert "<strong>1,000</strong>" in capacity and "ok" in capacity
    assert "<strong>7</strong>" in _row(content, "features", "queue_depth")
    assert "utilization must be a share: 0, or from 1e-09 to 1" in _row(
        content, "features", "utilization"
    )
    assert "The query gives 2 series" in _row(content, "features", "latency_p95_ms")
    assert "Prometheus refused the query: " in _row(content, "features", "throughput")
    assert "No value now: the query matches no series" in _row(
        content, "features", "errors"
    )
    assert "<strong>" not in _row(content, "features", "dropped")  # not typed
    # What was typed stays; nothing is saved.
    assert 'value="sum(lag)"' in content
    assert not PrometheusSource.objects.exists()


def test_test_queries_says_when_prometheus_cannot_be_reached(personas) -> None:
    response = personas.teammate.post(f"{PAGE}test/", _form(url="http://127.0.0.1:9"))
    row = _row(response.content.decode(), "features", "capacity")
    assert "Could not connect to Prometheus at http://127.0.0.1:9" in row


def test_viewers_read_each_querys_last_pull(personas) -> None:
    pull.source_configure(
        system=personas.system,
        url="http://prometheus:9090",
        interval_s=30,
        queries={"features": {k.split(".")[1]: v for k, v in FEATURES.items()}},
    )
    PrometheusQuery.objects.filter(field="capacity").update(
        last_error="Prometheus refused the query: parse error",
        last_error_at=timezone.now(),
    )
    PrometheusQuery.objects.filter(field="throughput").update(
        last_success_at=timezone.now()
    )

    content = personas.viewer.get(PAGE).content.decode()

    assert "Prometheus refused the query: parse error" in _row(
        content, "features", "capacity"
    )
    assert "failing" in _row(content, "features", "capacity")
    assert "last data 0" in _row(content, "features", "throughput")
    assert "<code>features_capacity</code>" in content
    assert "<form" not in content.split('id="prometheus"')[1].split("</section>")[0]
    assert "query-ingest-" not in content  # not pulled


def test_only_editors_write_and_other_teams_see_nothing(personas) -> None:
    assert personas.viewer.post(PAGE, _form()).status_code == 403
    assert personas.viewer.post(f"{PAGE}test/", _form()).status_code == 403
    assert personas.outsider.get(PAGE).status_code == 404
    assert personas.outsider.post(PAGE, _form()).status_code == 404
    assert personas.outsider.post(f"{PAGE}test/", _form()).status_code == 404
    assert personas.teammate.get(f"{PAGE}test/").status_code == 405
    assert not PrometheusSource.objects.exists()
