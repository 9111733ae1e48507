"""The worker's error budgets, end to end: samples posted through ingest,
rollups written by processing, budgets evaluated, the alert told once."""

from __future__ import annotations

import random
import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.prometheus_server import prometheus  # noqa: F401 (a fixture)
from toc.celery import app
from toc.metrics.models import PrometheusSource, Rollup, SloBudget
from toc.metrics.slo_budgets import (
    _tallies_sql,
    budgets_evaluate,
    column_of,
    tallies_portable,
    window_of,
)
from toc.metrics.tasks import slo_budgets
from toc.notifications import services
from toc.notifications.models import Event, EventKind
from toc.systems.models import Slo

from .samples import sample

SLOW_MS = 500.0
# PostgreSQL counts in SQL, SQLite in Python (tallies_portable): end to end
# on both; test_the_sql_tallies_are_the_portable_ones holds them to one answer.
BOTH = pytest.mark.both_databases


@pytest.fixture
def end():
    """The evaluation's end: the start of the current minute."""
    return timezone.now().replace(second=0, microsecond=0)


def _minutes(end, count: int, bad_ages: set[int], **bad) -> list[dict]:
    """One sample of "inference" in each of the `count` minutes before `end`;
    those `bad_ages` minutes before `end` (0: the newest) get `bad`'s values."""
    samples = []
    for age in range(count):
        ts = end - timedelta(minutes=age + 1) + timedelta(seconds=10)
        values = bad if age in bad_ages else {}
        samples.append(sample("inference", ts, **{"latency_p95_ms": 20.0, **values}))
    return samples


def _slo(personas, **fields) -> Slo:
    values = {
        "system": personas.system,
        "dimension": "time_to_decision",
        "name": "Decisions in 100 ms",
        "comparator": "<=",
        "target": 100,
        "unit": "ms",
        "indicator": "threshold",
        "stage": "inference",
        "field": "latency_p95_ms",
        "threshold": 100.0,
        "objective": 0.99,
        "window_days": 1,
    }
    values.update(fields)
    return Slo.objects.create(**values)


# The newest hour: every fourth minute slow (15 of 60, 5 of them in the last
# 30 min, 2 in the last 5); the hour before it all fast.
BAD_AGES = set(range(0, 60, 4))


@BOTH
def test_a_known_share_of_slow_minutes_gives_compliance_budget_and_burn(
    personas, post_samples, end
):
    slo = _slo(personas)
    response = post_samples(_minutes(end, 120, BAD_AGES, latency_p95_ms=SLOW_MS))
    assert response.status_code == 202
    assert budgets_evaluate(end + timedelta(seconds=5)) == 1

    budget = SloBudget.objects.get(slo=slo)
    assert (budget.good, budget.total) == (105, 120)
    assert budget.compliance == pytest.approx(105 / 120)
    assert budget.budget_remaining == pytest.approx((105 / 120 - 0.99) / 0.01)
    rates = budget.burn_rates
    assert rates["5m"] == pytest.approx((2 / 5) / 0.01)
    assert rates["30m"] == pytest.approx((8 / 30) / 0.01)
    assert rates["1h"] == pytest.approx((15 / 60) / 0.01)
    assert rates["2h"] == pytest.approx((15 / 120) / 0.01)
    # Windows longer than the data count the minutes with data.
    assert rates["3d"] == pytest.approx((15 / 120) / 0.01)
    assert budget.alert == "page"
    assert budget.alert_since == end
    assert budget.window_end == end
    assert budget.window_start == end - timedelta(days=1)
    assert len(budget.series["t"]) == 24
    assert budget.series["budget_remaining"][-1] == pytest.approx(
        budget.budget_remaining
    )
    assert budget.series["burn_rate_1h"][-1] == pytest.approx(25.0)
    assert budget.series["burn_rate_1h"][-2] == 0.0  # the fast hour
    assert budget.series["burn_rate_1h"][0] is None  # no data then


@BOTH
def test_the_alert_is_told_once_however_often_it_is_evaluated(
    personas, post_samples, end
):
    slo = _slo(personas)
    post_samples(_minutes(end, 120, BAD_AGES, latency_p95_ms=SLOW_MS))
    budgets_evaluate(end + timedelta(seconds=5))
    services.events_scan()
    budgets_evaluate(end + timedelta(seconds=65))
    budgets_evaluate(end + timedelta(seconds=125))
    services.events_scan()

    budget = SloBudget.objects.get(slo=slo)
    assert budget.alert == "page"
    assert budget.alert_since == end  # the same alert, still going
    event = Event.objects.get(kind=EventKind.SLO_BURNING)
    assert event.key == f"slo.burning:{slo.pk}:{end.isoformat()}"
    assert event.system == personas.system
    assert event.data["slo_name"] == "Decisions in 100 ms"
    assert event.data["alert"] == "page"
    assert event.data["error_budget_remaining"] == pytest.approx(
        budget.budget_remaining
    )


@BOTH
def test_an_alert_that_ends_and_starts_again_is_told_again(personas, post_samples, end):
    """Evaluated as of three moments in the past, as samples may not come
    from the future."""
    end -= timedelta(hours=7)
    slo = _slo(personas)
    post_samples(_minutes(end, 120, BAD_AGES, latency_p95_ms=SLOW_MS))
    budgets_evaluate(end + timedelta(seconds=5))
    services.events_scan(now=end + timedelta(seconds=6))
    # Six hours of fast minutes: every rule's short window calms down.
    later = end + timedelta(hours=6)
    fast = _minutes(later, 360, set())
    assert post_samples(fast[:180]).status_code == 202
    assert post_samples(fast[180:]).status_code == 202
    budgets_evaluate(later + timedelta(seconds=5))
    assert SloBudget.objects.get(slo=slo).alert == ""
    assert SloBudget.objects.get(slo=slo).alert_since is None

    again = later + timedelta(minutes=30)
    slow = _minutes(again, 30, set(range(30)), latency_p95_ms=SLOW_MS)
    assert post_samples(slow).status_code == 202
    budgets_evaluate(again + timedelta(seconds=5))
    services.events_scan(now=again + timedelta(seconds=6))
    assert SloBudget.objects.get(slo=slo).alert_since == again
    assert Event.objects.filter(kind=EventKind.SLO_BURNING).count() == 2


@BOTH
def test_a_ratio_slo_counts_events_under_occurrences(personas, post_samples, end):
    slo = _slo(
        personas,
        indicator="ratio",
        field="dropped",
        total_field="throughput",
        budgeting="Occurrences",
        objective=0.9,
    )
    # 100/s is 6000 records a minute; 600 dropped in each of 10 minutes of 60.
    post_samples(_minutes(end, 60, set(range(10)), dropped=600))
    budgets_evaluate(end + timedelta(seconds=5))
    budget = SloBudget.objects.get(slo=slo)
    assert budget.total == pytest.approx(60 * 6000)
    assert budget.good == pytest.approx(60 * 6000 - 10 * 600)
    assert budget.compliance == pytest.approx(1 - 6000 / 360_000)


@BOTH
def test_a_ratio_slo_under_timeslices_counts_minutes_under_the_slice_target(
    personas, post_samples, end
):
    slo = _slo(
        personas,
        indicator="ratio",
        field="dropped",
        total_field="throughput",
        budgeting="RatioTimeslices",
        timeslice_target=0.95,
        objective=0.9,
    )
    # 600 of 6000 (90% good) misses 95%; 60 of 6000 (99%) meets it.
    samples = _minutes(end, 60, set(range(10)), dropped=600)
    samples += _minutes(end - timedelta(hours=1), 60, set(range(60)), dropped=60)
    post_samples(samples)
    budgets_evaluate(end + timedelta(seconds=5))
    budget = SloBudget.objects.get(slo=slo)
    assert (budget.good, budget.total) == (110, 120)


@BOTH
def test_a_minimum_throughput_compares_the_minutes_mean_rate(
    personas, post_samples, end
):
    slo = _slo(
        personas,
        comparator=">=",
        field="throughput",
        threshold=80.0,
        objective=0.5,
    )
    post_samples(_minutes(end, 30, {1, 2, 3}, throughput=50.0))
    budgets_evaluate(end + timedelta(seconds=5))
    assert SloBudget.objects.get(slo=slo).good == 27


@BOTH
def test_only_live_readable_slos_keep_figures(personas, post_samples, end):
    live = _slo(personas)
    _slo(personas, name="Typed only", indicator="", objective=None)
    _slo(personas, name="No objective", objective=None)
    _slo(personas, name="Elsewhere", indicator="unbound")
    _slo(personas, name="Gone stage", stage="scoring")
    promql = _slo(
        personas,
        name="PromQL",
        indicator="promql",
        promql_good="sum(rate(ok[1m]))",
        promql_total="sum(rate(all[1m]))",
    )
    post_samples(_minutes(end, 10, set()))
    assert budgets_evaluate(end) == 1
    assert list(SloBudget.objects.values_list("slo", flat=True)) == [live.pk]
    assert not SloBudget.objects.filter(slo=promql).exists()

    live.objective = None
    live.save()
    assert budgets_evaluate(end) == 0
    assert not SloBudget.objects.exists()


@BOTH
def test_an_slo_without_data_has_no_compliance_and_no_alert(personas, end):
    slo = _slo(personas)
    budgets_evaluate(end)
    budget = SloBudget.objects.get(slo=slo)
    assert budget.total == 0
    assert budget.compliance is None
    assert budget.budget_remaining is None
    assert budget.alert == ""


def test_calendar_windows_start_on_monday_and_the_first(personas):
    slo = _slo(personas, calendar="week")
    end = timezone.datetime(2026, 12, 3, 15, 30, tzinfo=timezone.UTC)  # Thursday
    start, hours = window_of(slo, end)
    assert start == timezone.datetime(2026, 11, 30, tzinfo=timezone.UTC)
    assert hours == 3 * 24 + 16
    slo.calendar = "month"
    start, hours = window_of(slo, end)
    assert start == timezone.datetime(2026, 12, 1, tzinfo=timezone.UTC)
    assert hours == 2 * 24 + 16
    slo.calendar = ""
    assert window_of(slo, end) == (end - timedelta(days=1), 24)


def test_the_task_evaluates_and_the_beat_runs_it_every_minute(
    personas, post_samples, end
):
    slo = _slo(personas)
    post_samples(_minutes(end, 5, set()))
    slo_budgets()
    assert SloBudget.objects.get(slo=slo).total >= 4
    entry = app.conf.beat_schedule["evaluate the error budgets of live SLOs"]
    assert entry["task"] == "metrics.slo_budgets"
    assert entry["schedule"] == 60


def _promql(personas, **fields) -> Slo:
    return _slo(
        personas,
        indicator="promql",
        stage="",
        field="",
        threshold=None,
        # Constant series: Prometheus answers them at any time, 28 days ago
        # too, so the whole window has data without waiting for scrapes.
        promql_good="vector(99)",
        promql_total="vector(100)",
        **fields,
    )


def test_a_promql_slo_is_asked_of_the_systems_prometheus(
    personas,
    prometheus,  # noqa: F811
    end,
):
    server, _ = prometheus
    PrometheusSource.objects.create(system=personas.system, url=server.url)
    events = _promql(personas, name="Events", budgeting="Occurrences", objective=0.98)
    minutes = _promql(
        personas,
        name="Minutes",
        budgeting="RatioTimeslices",
        timeslice_target=0.995,
        objective=0.9,
    )
    assert budgets_evaluate(end + timedelta(seconds=5)) == 2

    counted = SloBudget.objects.get(slo=events)
    assert counted.total == pytest.approx(24 * 60 * 100 * 60)  # a day of 100/s
    assert counted.compliance == pytest.approx(0.99)
    assert counted.budget_remaining == pytest.approx(0.5)
    assert list(counted.burn_rates.values()) == [pytest.approx(0.5)] * 7
    assert counted.alert == ""

    sliced = SloBudget.objects.get(slo=minutes)
    assert (sliced.good, sliced.total) == (0, 24 * 60)  # 99% misses 99.5%
    assert sliced.compliance == 0
    assert sliced.alert == "page"


def test_a_prometheus_that_does_not_answer_leaves_the_figures_as_they_were(
    personas, end
):
    slo = _promql(personas)
    PrometheusSource.objects.create(
        system=personas.system, url=f"http://127.0.0.1:{_closed_port()}"
    )
    before = SloBudget.objects.create(
        slo=slo,
        computed_at=end - timedelta(minutes=5),
        window_start=end - timedelta(days=1),
        window_end=end - timedelta(minutes=5),
        good=99,
        total=100,
        compliance=0.99,
    )
    assert budgets_evaluate(end) == 0
    assert SloBudget.objects.get(slo=slo).computed_at == before.computed_at


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _random_rollups(stage, end, hours: int, seed: int) -> None:
    """Minutes of the last `hours` with random values, a tenth of them missing,
    and every field sometimes empty or zero."""
    rng = random.Random(seed)
    rows = []
    for age in range(hours * 60):
        if rng.random() < 0.1:
            continue
        minute = end - timedelta(minutes=age + 1)
        count = rng.randint(1, 6)
        measured = rng.randint(0, count)
        rows.append(
            Rollup(
                stage=stage,
                minute=minute,
                first_ts=minute,
                last_ts=minute,
                count=count,
                capacity_sum=count * rng.uniform(50, 150),
                throughput_sum=count * rng.choice([0.0, rng.uniform(0, 100)]),
                utilization_sum=measured * rng.uniform(0, 1),
                utilization_count=measured,
                blocked_sum=0.0,
                blocked_count=0,
                latency_p95_max=rng.choice([100.0, rng.uniform(0, 200)]),
                last_queue_depth=rng.randint(0, 100),
                time_sum=0.0,
                queue_sum=0.0,
                time_sq_sum=0.0,
                time_queue_sum=0.0,
                queue_sq_sum=0.0,
                errors=rng.choice([0, rng.randint(0, 500)]),
                dropped=rng.choice([0, rng.randint(0, 9000)]),
            )
        )
    Rollup.objects.bulk_create(rows)


SLO_KINDS = (
    [
        {"field": "latency_p95_ms", "comparator": comparator, "threshold": 100.0}
        for comparator in ["<=", "<", ">=", ">", "=="]
    ]
    + [
        {"field": "utilization", "comparator": "<=", "threshold": 0.5},
        {"field": "throughput", "comparator": ">=", "threshold": 40.0},
        {"field": "capacity", "comparator": ">", "threshold": 100.0},
        {"field": "queue_depth", "comparator": "<", "threshold": 50.0},
        {"field": "errors", "comparator": "<=", "threshold": 10.0},
        {"field": "blocked", "comparator": "<=", "threshold": 0.5},
    ]
    + [
        {
            "indicator": "ratio",
            "field": bad,
            "total_field": "throughput",
            "budgeting": budgeting,
            "timeslice_target": 0.95,
        }
        for bad in ["dropped", "errors"]
        for budgeting in ["Occurrences", "Timeslices", "RatioTimeslices"]
    ]
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_tallies_are_the_portable_ones(personas, end, seed):
    """PostgreSQL's query and the Python path (SQLite's) count alike, for
    every kind of SLO, minute by minute and hour by hour."""
    if connection.vendor != "postgresql":
        pytest.skip("The SQL tallies are PostgreSQL's (date_bin).")
    stage = personas.system.stages.get(slug="inference")
    _random_rollups(stage, end, hours=75, seed=seed)
    slos = [
        _slo(personas, name=f"SLO {index}", **kind)
        for index, kind in enumerate(SLO_KINDS)
    ]
    start = end - timedelta(hours=80)
    columns = [column_of(slo) for slo in slos]
    assert None not in columns
    sql = _tallies_sql(stage.pk, columns, start, end)
    portable = tallies_portable(stage.pk, slos, start, end)
    for slo, (minutes, hours), (want_minutes, want_hours) in zip(
        slos, sql, portable, strict=True
    ):
        for got, want in zip(minutes + hours, want_minutes + want_hours, strict=True):
            assert got.good == pytest.approx(want.good), slo.name
            assert got.total == pytest.approx(want.total), slo.name
    # Not all empty: the data reached both.
    assert sum(t.total for t in portable[0][1]) > 1000
