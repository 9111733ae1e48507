"""Pulling stage samples from a real Prometheus that scrapes an exporter the
test serves (tests/prometheus_server.py), and the ledger toc builds from them.

Samples are a second apart here (STEP_S patched to 1, scrapes every second),
so that a few seconds of a pipeline give a few samples per stage.
"""

from __future__ import annotations

import time
from datetime import timedelta
from itertools import pairwise

import pytest
import requests
from django.utils import timezone

from tests.prometheus_server import prometheus  # noqa: F401 (a fixture)
from toc.celery import app
from toc.metrics import prometheus as pull
from toc.metrics.ledger import ledger_response
from toc.metrics.models import PrometheusQuery, PrometheusSource, Sample
from toc.metrics.tasks import prometheus_due

LATENCY = (
    "histogram_quantile(0.95, sum by (le) "
    "(rate({stage}_duration_seconds_bucket[2s]))) * 1000"
)


def _queries(stage: str) -> dict[str, str]:
    """A stage's expressions, as a team would write them for its exporter."""
    return {
        "throughput": f"sum(rate({stage}_records_total[2s]))",
        "capacity": f"{stage}_capacity",
        "latency_p95_ms": LATENCY.format(stage=stage),
        "queue_depth": f'sum(kafka_consumergroup_lag{{consumergroup="{stage}"}})',
        "errors": f"sum(rate({stage}_errors_total[2s])) * 1",  # per step
    }


def _run(exporter, stage: str, rate: float, capacity: float, lag: int) -> None:
    """The stage's metrics: records at `rate`/s, 90% of them within 10 ms and
    all within 50 ms (so a p95 of 30 ms), a lag over two partitions."""
    exporter.count(
        **{
            f"{stage}_records_total": rate,
            f'{stage}_duration_seconds_bucket{{le="0.01"}}': 0.9 * rate,
            f'{stage}_duration_seconds_bucket{{le="0.05"}}': rate,
            f'{stage}_duration_seconds_bucket{{le="+Inf"}}': rate,
            f"{stage}_errors_total": 2,
        }
    )
    exporter.set(
        **{
            f"{stage}_capacity": capacity,
            f'kafka_consumergroup_lag{{consumergroup="{stage}",partition="0"}}': lag,
            f'kafka_consumergroup_lag{{consumergroup="{stage}",partition="1"}}': 0,
        }
    )


@pytest.fixture
def pipeline(prometheus, personas, monkeypatch):  # noqa: F811
    """ "fraud" pulling its three stages from Prometheus, which has a few
    seconds of them; Features runs at 95% of its capacity."""
    server, exporter = prometheus
    monkeypatch.setattr(pull, "STEP_S", 1)
    for stage, rate in [("ingest", 300), ("features", 950), ("inference", 400)]:
        _run(exporter, stage, rate, 1000, lag=40 if stage == "features" else 0)
    server.wait_for("sum(rate(inference_records_total[2s])) > 0")
    time.sleep(2.5)  # a few scrapes with the rates
    source = pull.source_configure(
        system=personas.system,
        url=server.url,
        interval_s=10,
        queries={
            stage: _queries(stage) for stage in ["ingest", "features", "inference"]
        },
    )
    return server, exporter, source


def _pull(source, django_capture_on_commit_callbacks, now=None) -> pull.PullReport:
    # The test's transaction never commits: run the processing a commit sends.
    with django_capture_on_commit_callbacks(execute=True):
        report = pull.source_pull(source_id=source.pk, now=now)
    assert report is not None
    return report


def _times(stage: str) -> list:
    return list(
        Sample.objects.filter(stage__slug=stage, stage__system__slug="fraud")
        .order_by("ts")
        .values_list("ts", flat=True)
    )


def test_the_ledger_is_built_from_the_pulled_samples(
    pipeline, django_capture_on_commit_callbacks
) -> None:
    _, _, source = pipeline
    report = _pull(source, django_capture_on_commit_callbacks)

    assert report.stored >= 3 * 2
    assert report.stored == report.offered
    features = Sample.objects.filter(stage__slug="features").latest("ts")
    assert features.throughput == pytest.approx(950, rel=0.05)
    assert features.capacity == 1000
    assert features.latency_p95_ms == pytest.approx(30, rel=0.05)
    assert features.queue_depth == 40
    ledger = ledger_response(source.system)
    assert ledger["constraint"]["stage"] == "features"
    line = {row["stage"]: row for row in ledger["stages"]}["features"]
    assert line["latency_p95_ms"] == pytest.approx(30, rel=0.05)
    assert line["queue_depth"] == 40
    # Each query tells when it last gave data, and has no error to tell.
    for query in PrometheusQuery.objects.filter(source=source):
        assert query.last_success_at is not None, query.promql
        assert query.last_error == "", query.last_error


def test_a_pull_after_an_outage_fills_the_gap_and_stores_nothing_twice(
    pipeline, django_capture_on_commit_callbacks
) -> None:
    server, exporter, source = pipeline
    first = _pull(source, django_capture_on_commit_callbacks)
    source.refresh_from_db()
    assert source.pulled_until is not None

    # Prometheus cannot be reached: every query says so, nothing moves on.
    PrometheusSource.objects.filter(pk=source.pk).update(url="http://127.0.0.1:9")
    time.sleep(1)  # a step to ask for
    failed = _pull(source, django_capture_on_commit_callbacks)
    assert failed.stored == 0
    assert failed.pulled_until == source.pulled_until
    errors = set(PrometheusQuery.objects.values_list("last_error", flat=True))
    assert errors == {
        "Could not connect to Prometheus at http://127.0.0.1:9: is the URL "
        "right and the server up?"
    }
    assert all(query.failing for query in PrometheusQuery.objects.all())

    # Meanwhile the queue on Features grows.
    _run(exporter, "features", 950, 1000, lag=500)
    time.sleep(2.5)
    PrometheusSource.objects.filter(pk=source.pk).update(url=server.url)
    until = timezone.now()
    second = _pull(source, django_capture_on_commit_callbacks, now=until)

    assert second.stored > 0
    assert first.stored + second.stored == Sample.objects.count()
    times = _times("features")
    steps = {(later - earlier).total_seconds() for earlier, later in pairwise(times)}
    assert steps == {1.0}, "the samples of the outage are all there, a second apart"
    assert Sample.objects.filter(stage__slug="features").latest("ts").queue_depth == 500
    assert not any(query.failing for query in PrometheusQuery.objects.all())

    # Pulling the whole range again (to the same end) offers every sample, and
    # stores none.
    PrometheusSource.objects.filter(pk=source.pk).update(pulled_until=None)
    again = _pull(source, django_capture_on_commit_callbacks, now=until)
    assert again.offered >= first.stored + second.stored
    assert again.stored == 0
    assert Sample.objects.count() == first.stored + second.stored


def test_a_bad_query_is_told_in_words_and_the_others_are_still_pulled(
    pipeline, django_capture_on_commit_callbacks
) -> None:
    _, _, source = pipeline
    queries = {stage: _queries(stage) for stage in ["ingest", "features", "inference"]}
    queries["ingest"]["throughput"] = "sum(rate(ingest_records_total[2s]"
    queries["features"]["queue_depth"] = "kafka_consumergroup_lag"
    queries["inference"]["latency_p95_ms"] = "inference_latency_typo"
    pull.source_configure(
        system=source.system, url=source.url, interval_s=10, queries=queries
    )

    report = _pull(source, django_capture_on_commit_callbacks)

    def error(stage: str, field: str) -> str:
        return PrometheusQuery.objects.get(stage__slug=stage, field=field).last_error

    assert error("ingest", "throughput").startswith("Prometheus refused the query: ")
    assert "parse error" in error("ingest", "throughput")
    assert error("features", "queue_depth").startswith("The query gives 6 series")
    assert "wrap it in sum(…)" in error("features", "queue_depth")
    assert error("inference", "latency_p95_ms").startswith("No data from ")
    # Each stage lacks a required field: nothing stored, but the pull went
    # through (a query Prometheus refuses does not hold the range back).
    assert report.stored == 0
    assert report.pulled_until is not None
    queries["ingest"]["throughput"] = "sum(rate(ingest_records_total[2s]))"
    pull.source_configure(
        system=source.system, url=source.url, interval_s=10, queries=queries
    )
    assert error("ingest", "throughput") == "", "a changed query starts afresh"
    assert error("features", "queue_depth") != "", "an unchanged one keeps its error"
    PrometheusSource.objects.filter(pk=source.pk).update(pulled_until=None)
    _pull(source, django_capture_on_commit_callbacks)
    assert _times("ingest") and not _times("features")


def test_a_value_the_checks_refuse_leaves_its_sample_out_and_says_why(
    pipeline, django_capture_on_commit_callbacks
) -> None:
    _, exporter, source = pipeline
    exporter.set(features_capacity=-5)
    time.sleep(1.5)
    _pull(source, django_capture_on_commit_callbacks, now=timezone.now())

    error = PrometheusQuery.objects.get(stage__slug="features", field="capacity")
    assert error.last_error.startswith(
        "capacity must be 0 or a number from 1e-09 to 1e+12; the query gave -5 at "
    )
    assert error.failing
    newest = Sample.objects.filter(stage__slug="features").latest("ts").ts
    assert newest < timezone.now() - timedelta(seconds=1)
    assert Sample.objects.filter(stage__slug="ingest").latest("ts").ts > newest
    exporter.set(features_capacity=1000)


def test_the_beat_claims_each_due_source_once(personas) -> None:
    source = pull.source_configure(
        system=personas.system, url="http://127.0.0.1:9", interval_s=60, queries={}
    )
    now = timezone.now()
    assert pull.sources_due(now) == [source.pk]
    assert pull.sources_due(now) == []
    assert pull.sources_due(now + timedelta(seconds=59)) == []
    assert pull.sources_due(now + timedelta(seconds=60)) == [source.pk]


def test_beat_looks_for_due_sources_often_and_each_pulls_on_its_own(
    personas,
) -> None:
    entry = app.conf.beat_schedule["pull from Prometheus sources that are due"]
    assert entry["task"] == "metrics.prometheus_due"
    assert entry["schedule"] == 15
    source = pull.source_configure(
        system=personas.system,
        url="http://127.0.0.1:9",
        interval_s=60,
        queries={"ingest": {"throughput": "sum(rate(x[1m]))"}},
    )

    prometheus_due()  # sends the pull, which runs at once in tests

    query = PrometheusQuery.objects.get(source=source)
    assert query.last_error.startswith("Could not connect to Prometheus")
    assert pull.sources_due() == []  # not due again for a minute


def test_an_unreachable_server_is_asked_once_per_pull(personas, monkeypatch) -> None:
    asked = []
    post = requests.Session.post

    def counted(self, url, *args, **kwargs):
        asked.append(url)
        return post(self, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "post", counted)
    source = pull.source_configure(
        system=personas.system,
        url="http://127.0.0.1:9",
        interval_s=60,
        queries={stage: _queries(stage) for stage in ["ingest", "features"]},
    )

    report = pull.source_pull(source_id=source.pk)

    assert len(asked) == 1
    assert report is not None and report.pulled_until is None
    errors = set(PrometheusQuery.objects.values_list("last_error", flat=True))
    assert len(errors) == 1 and errors.pop().startswith("Could not connect")
    tried = pull.queries_try(
        url="http://127.0.0.1:9",
        queries={("ingest", "throughput"): "a", ("ingest", "capacity"): "b"},
    )
    assert len(asked) == 2
    assert tried[("ingest", "capacity")].error.startswith("Could not connect")
