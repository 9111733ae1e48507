"""Samples partitioned by day and rollups by month (PostgreSQL): partitions
made ahead, dropped past retention, and samples on both sides of an edge
read back as if there were none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.database import migrate_to, migrate_to_latest
from tests.factories import IngestKeyFactory, StageFactory, SystemFactory
from tests.metrics.samples import steady_pipeline
from toc.celery import app
from toc.metrics.models import Rollup, Sample, SystemLedger
from toc.metrics.partitions import partitions_make_ahead, retention_apply
from toc.metrics.rollups import ROLLUP_SUMS
from toc.metrics.series import stage_series
from toc.metrics.tasks import apply_retention, make_partitions

pytestmark = pytest.mark.django_db

# The end of November 2026: a day's and a month's edge.
EDGE = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Partitions are PostgreSQL's; SQLite keeps plain tables.")


@pytest.fixture(autouse=True)
def retention(settings) -> None:
    settings.SAMPLE_RETENTION_DAYS = 30
    settings.ROLLUP_RETENTION_DAYS = 400
    settings.SAMPLE_PARTITIONS_AHEAD_DAYS = 3


def _partitions(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree(%s) WHERE isleaf",
            [table],
        )
        return {name for (name,) in cursor.fetchall()}


def _home(table: str, column: str, at: datetime) -> str:
    """The partition that holds the row of `table` whose `column` is `at`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {table} WHERE {column} = %s", [at]
        )
        return cursor.fetchone()[0]


def _sample(stage, ts: datetime) -> Sample:
    return Sample.objects.create(
        stage=stage, ts=ts, throughput=1, capacity=2, latency_p95_ms=1, queue_depth=0
    )


def _rollup(stage, minute: datetime) -> Rollup:
    sums = dict.fromkeys(ROLLUP_SUMS, 0)
    sums.update(first_ts=minute, last_ts=minute, count=1)
    return Rollup.objects.create(stage=stage, minute=minute, **sums)


def _check_constraints_now() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_beat_makes_the_coming_days_and_months_once(postgres) -> None:
    now = datetime(2027, 3, 30, 17, 5, tzinfo=UTC)

    made = partitions_make_ahead(now=now)

    assert made == [
        "metrics_sample_p20270330",
        "metrics_sample_p20270331",
        "metrics_sample_p20270401",
        "metrics_sample_p20270402",
        "metrics_rollup_p202703",
        "metrics_rollup_p202704",
    ]
    assert set(made) <= _partitions("metrics_sample") | _partitions("metrics_rollup")
    assert partitions_make_ahead(now=now) == []
    assert partitions_make_ahead(now=now + timedelta(days=1)) == [
        "metrics_sample_p20270403"
    ]
    stage = StageFactory()
    _sample(stage, datetime(2027, 4, 3, 23, 59, 59, tzinfo=UTC))
    assert _home(
        "metrics_sample", "ts", datetime(2027, 4, 3, 23, 59, 59, tzinfo=UTC)
    ) == ("metrics_sample_p20270403")


def test_a_days_rows_waiting_in_the_default_move_into_its_partition(postgres) -> None:
    """The beat was down when the day began: its samples went to the default."""
    stage = StageFactory()
    morning = datetime(2027, 5, 10, 6, 0, tzinfo=UTC)
    _sample(stage, morning)
    assert _home("metrics_sample", "ts", morning) == "metrics_sample_default"

    partitions_make_ahead(now=morning + timedelta(hours=2))

    assert _home("metrics_sample", "ts", morning) == "metrics_sample_p20270510"
    assert Sample.objects.filter(stage=stage).count() == 1


def test_partitions_past_retention_go_whole_and_newer_ones_stay(
    postgres, settings
) -> None:
    settings.ROLLUP_RETENTION_DAYS = 1
    stage = StageFactory()
    partitions_make_ahead(now=datetime(2027, 3, 1, tzinfo=UTC))
    for day in range(1, 5):
        _sample(stage, datetime(2027, 3, day, 12, tzinfo=UTC))
        _rollup(stage, datetime(2027, 3, day, 12, tzinfo=UTC))
    _rollup(stage, datetime(2027, 4, 1, tzinfo=UTC))
    # Samples older than 2027-03-03 12:00 go; rollups older than 2027-04-01 12:00.
    now = datetime(2027, 4, 2, 12, tzinfo=UTC)
    # The rows' deferred foreign-key checks, which the beat's own transaction
    # never has: a partition with pending ones cannot be dropped.
    _check_constraints_now()

    dropped = retention_apply(now=now)

    assert {
        "metrics_sample_p20270301",
        "metrics_sample_p20270302",
        "metrics_rollup_p202703",
    } <= set(dropped)
    assert {"metrics_sample_p20270303", "metrics_sample_p20270304"} <= _partitions(
        "metrics_sample"
    )
    assert "metrics_rollup_p202704" in _partitions("metrics_rollup")
    assert sorted(s.ts.day for s in Sample.objects.filter(stage=stage)) == [3, 4]
    assert list(
        Rollup.objects.filter(stage=stage).values_list("minute", flat=True)
    ) == [datetime(2027, 4, 1, tzinfo=UTC)]
    assert retention_apply(now=now) == []


def test_default_rows_past_the_cutoff_are_deleted(postgres) -> None:
    stage = StageFactory()
    old, kept = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)
    for ts in (old, kept):
        _sample(stage, ts)
        _rollup(stage, ts)
    assert _home("metrics_sample", "ts", old) == "metrics_sample_default"

    retention_apply(now=datetime(2026, 11, 1, tzinfo=UTC))
    assert list(Sample.objects.values_list("ts", flat=True)) == [kept]
    assert Rollup.objects.count() == 2, "rollups are kept 400 days"

    retention_apply(now=old + timedelta(days=401))
    assert list(Rollup.objects.values_list("minute", flat=True)) == [kept]


def test_the_beat_runs_both_tasks_hourly(postgres) -> None:
    make_partitions()
    apply_retention()
    for name, task in [
        ("make the partitions of the coming days", "metrics.make_partitions"),
        ("drop samples and rollups past retention", "metrics.apply_retention"),
    ]:
        entry = app.conf.beat_schedule[name]
        assert (entry["task"], entry["schedule"]) == (task, 3600)


def _post_pipeline(post_samples, key: str, slug: str, start: datetime) -> None:
    """Six minutes from `start` of three stages, every 10 s, in two batches:
    the second starts 90 s before the middle and runs past it."""
    samples = steady_pipeline(
        ["ingest", "features", "inference"],
        start,
        minutes=6,
        busy={"features": 0.9},
        growing="features",
    )
    middle = (start + timedelta(seconds=90)).isoformat()
    for batch in (
        [s for s in samples if s["ts"] < middle],
        [s for s in samples if s["ts"] >= middle],
    ):
        response = post_samples(batch, key=key, slug=slug)
        assert response.status_code == 202, response.content


def _rollup_shapes(system, start: datetime) -> list[tuple]:
    """Each rollup with its times counted from `start`."""
    rows = Rollup.objects.filter(stage__system=system).order_by("stage__slug", "minute")
    return [
        (
            row["stage__slug"],
            row["minute"] - start,
            row["first_ts"] - start,
            row["last_ts"] - start,
            *(row[name] for name in ROLLUP_SUMS[2:]),
            row["failure_modes"],
        )
        for row in rows.values("stage__slug", "minute", "failure_modes", *ROLLUP_SUMS)
    ]


def _relative(value, start: datetime):
    """`value` with each time in it (an ISO 8601 text) counted from `start`."""
    if isinstance(value, dict):
        return {key: _relative(item, start) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative(item, start) for item in value]
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) - start
        except ValueError:
            return value
    return value


def test_samples_on_both_sides_of_an_edge_read_as_without_one(
    postgres, personas, post_samples, ingest_key
) -> None:
    """A pipeline posting across midnight at the month's end, and the same one
    posting at noon, well inside a partition: same rollups, series and ledger."""
    partitions_make_ahead(now=EDGE - timedelta(days=1))
    noon = SystemFactory(team=personas.team, slug="noon")
    for name in ["Ingest", "Features", "Inference"]:
        StageFactory(system=noon, name=name, slug=name.lower())
    noon_key = IngestKeyFactory(system=noon).plaintext
    edge_start, noon_start = EDGE - timedelta(minutes=3), EDGE + timedelta(hours=12)

    _post_pipeline(post_samples, ingest_key, "fraud", edge_start)
    _post_pipeline(post_samples, noon_key, "noon", noon_start - timedelta(minutes=3))

    before, after = EDGE - timedelta(seconds=10), EDGE
    assert _home("metrics_sample", "ts", before) == "metrics_sample_p20261130"
    assert _home("metrics_sample", "ts", after) == "metrics_sample_p20261201"
    assert _home("metrics_rollup", "minute", EDGE - timedelta(minutes=1)) == (
        "metrics_rollup_p202611"
    )
    assert _home("metrics_rollup", "minute", EDGE) == "metrics_rollup_p202612"
    edge_shapes = _rollup_shapes(personas.system, edge_start)
    assert len(edge_shapes) == 3 * 6
    assert edge_shapes == _rollup_shapes(noon, noon_start - timedelta(minutes=3))

    def lines(system, start: datetime) -> list[dict]:
        stages = list(system.stages.order_by("position"))
        return stage_series(stages, start, start + timedelta(minutes=6))["stages"]

    assert lines(personas.system, edge_start) == lines(
        noon, noon_start - timedelta(minutes=3)
    )
    ledgers = SystemLedger.objects.filter(system__in=[personas.system, noon])
    edge_ledger, noon_ledger = (
        ledgers.get(system=personas.system).payload,
        ledgers.get(system=noon).payload,
    )
    assert edge_ledger["stages"], "a ledger of the three stages"
    assert _relative(edge_ledger, edge_start) == _relative(
        noon_ledger, noon_start - timedelta(minutes=3)
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_samples_and_where_their_ids_counted_to(
    postgres,
) -> None:
    stage = StageFactory()
    old = migrate_to([("metrics", "0003_slo_budget")])
    try:
        OldSample = old.get_model("metrics", "Sample")
        moments = [EDGE - timedelta(days=40), EDGE, EDGE + timedelta(seconds=10)]
        ids = [
            OldSample.objects.create(
                stage_id=stage.pk,
                ts=ts,
                throughput=1,
                capacity=2,
                latency_p95_ms=1,
                queue_depth=0,
            ).pk
            for ts in moments
        ]
        assert "metrics_sample_p20261201" not in _partitions("metrics_sample")

        migrate_to([("metrics", "0004_partitions")])
    finally:
        migrate_to_latest()

    kept = Sample.objects.filter(stage=stage).order_by("ts")
    assert [(s.pk, s.ts) for s in kept] == list(zip(ids, moments, strict=True))
    for ts in moments:
        assert _home("metrics_sample", "ts", ts) == f"metrics_sample_p{ts:%Y%m%d}"
    assert _sample(stage, EDGE + timedelta(days=1)).pk == max(ids) + 1


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_a_test_that_resets_sequences_counts_samples_from_one(postgres) -> None:
    assert _sample(StageFactory(), EDGE).pk == 1
