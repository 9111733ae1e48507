from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import IngestKeyFactory, StageFactory, SystemFactory
from tests.metrics.samples import steady_pipeline
from toc.metrics.models import ConstraintEvent, ConstraintFinding, SystemLedger
from toc.metrics.processing import system_process

pytestmark = pytest.mark.both_databases

STAGES = ["ingest", "features", "inference"]


def _moving_constraint(start) -> list[dict]:
    """20 minutes with Features saturated, then 20 with Inference saturated."""
    first = steady_pipeline(
        STAGES, start, 20, {"features": 0.95}, interval_s=20, growing="features"
    )
    second = steady_pipeline(
        STAGES,
        start + timedelta(minutes=20),
        20,
        {"features": 0.5, "inference": 0.97},
        interval_s=20,
        growing="inference",
    )
    return first + second


def _events(slug: str) -> list[tuple]:
    return list(
        ConstraintEvent.objects.filter(system__slug=slug)
        .order_by("at")
        .values_list("at", "from_stage", "to_stage")
    )


def _findings(slug: str) -> list[tuple]:
    return list(
        ConstraintFinding.objects.filter(system__slug=slug).values_list(
            "minute", "stage", "confirmed"
        )
    )


@pytest.fixture
def start():
    return (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)


def test_capacity_change_gives_exactly_one_move(post_samples, start) -> None:
    assert post_samples(_moving_constraint(start)).status_code == 202
    events = _events("fraud")
    moves = [e for e in events if e[1]]
    assert [(e[1], e[2]) for e in moves] == [("features", "inference")]
    # The first confirmation is recorded too, so the timeline knows where it began.
    assert [(e[1], e[2]) for e in events] == [
        ("", "features"),
        ("features", "inference"),
    ]
    assert moves[0][0] >= start + timedelta(minutes=20)


def test_ledger_names_the_current_constraint(post_samples, start) -> None:
    post_samples(_moving_constraint(start))
    payload = SystemLedger.objects.get(system__slug="fraud").payload
    assert payload["constraint"]["stage"] == "inference"
    assert payload["next_constraint"]["stage"] == "features"
    assert [row["stage"] for row in payload["stages"]] == STAGES


def test_backfill_and_live_posting_agree(post_samples, personas, start) -> None:
    twin = SystemFactory(team=personas.team, slug="twin")
    for slug in STAGES:
        StageFactory(system=twin, slug=slug, name=slug.title())
    twin_key = IngestKeyFactory(system=twin, name="k").plaintext
    samples = _moving_constraint(start)

    post_samples(samples)
    by_tick: dict[str, list[dict]] = {}
    for item in samples:
        by_tick.setdefault(item["ts"], []).append(item)
    for batch in by_tick.values():
        assert post_samples(batch, key=twin_key, slug="twin").status_code == 202

    assert _events("twin") == _events("fraud")
    assert _findings("twin") == _findings("fraud")
    live = SystemLedger.objects.get(system__slug="twin").payload
    backfill = SystemLedger.objects.get(system__slug="fraud").payload
    assert live["constraint"]["stage"] == backfill["constraint"]["stage"]
    assert live["stages"] == backfill["stages"]


def test_out_of_order_batches_give_the_same_events(post_samples, personas, start):
    samples = _moving_constraint(start)
    middle = len(samples) // 2
    post_samples(samples[middle:])
    post_samples(samples[:middle])
    in_order_events = [(e[1], e[2]) for e in _events("fraud")]
    assert in_order_events == [("", "features"), ("features", "inference")]


def test_processing_again_changes_nothing(post_samples, personas, start) -> None:
    post_samples(_moving_constraint(start))
    before = (_events("fraud"), _findings("fraud"))
    payload = SystemLedger.objects.get(system__slug="fraud").payload
    system_process(system_id=personas.system.pk)
    system_process(system_id=personas.system.pk)
    assert (_events("fraud"), _findings("fraud")) == before
    assert SystemLedger.objects.get(system__slug="fraud").payload == payload


def test_a_blip_shorter_than_the_hold_is_not_a_move(post_samples, start) -> None:
    calm = steady_pipeline(STAGES, start, 15, {"features": 0.95}, growing="features")
    blip = steady_pipeline(
        STAGES, start + timedelta(minutes=15), 2, {"features": 0.4, "inference": 0.99}
    )
    after = steady_pipeline(
        STAGES,
        start + timedelta(minutes=17),
        15,
        {"features": 0.95},
        growing="features",
    )
    post_samples(calm + blip + after)
    assert [(e[1], e[2]) for e in _events("fraud")] == [("", "features")]


def test_no_internal_constraint_is_reported_as_such(post_samples, start) -> None:
    post_samples(steady_pipeline(STAGES, start, 6, {}))
    payload = SystemLedger.objects.get(system__slug="fraud").payload
    assert payload["constraint"] is None
    assert payload["external_constraint"] is True
    assert "outside the pipeline" in payload["reason"]


def test_only_one_task_is_queued_per_system(personas) -> None:
    assert SystemLedger.mark_queued(personas.system) is True
    assert SystemLedger.mark_queued(personas.system) is False
    system_process(system_id=personas.system.pk)
    assert SystemLedger.mark_queued(personas.system) is True


def test_a_lost_task_is_claimed_again_after_a_while(personas) -> None:
    SystemLedger.mark_queued(personas.system)
    SystemLedger.objects.update(queued_at=timezone.now() - timedelta(minutes=5))
    assert SystemLedger.mark_queued(personas.system) is True


def test_stored_rollups_equal_the_pure_computation(post_samples, personas, start):
    """On PostgreSQL the minutes are rolled up in SQL; they must match Python's."""
    from toc.analysis import StageSample, rollup_samples
    from toc.metrics.models import Rollup, Sample
    from toc.metrics.rollups import ROLLUP_SUMS, SAMPLE_FIELDS, stage_rollup

    samples = steady_pipeline(STAGES, start, 3, {"features": 0.9}, growing="features")
    for n, item in enumerate(samples):
        item["failure_mode"] = ["", "oom", "timeout"][n % 3]
        item["blocked"] = None if n % 2 else 0.25
        item["latency_p95_ms"] = 10.0 + n
    post_samples(samples)

    rollups = list(Rollup.objects.select_related("stage"))
    assert len(rollups) == 3 * len(STAGES)
    for row in rollups:
        raw = Sample.objects.filter(
            stage=row.stage,
            ts__gte=row.minute,
            ts__lt=row.minute + timedelta(minutes=1),
        ).values(*SAMPLE_FIELDS)
        expected = rollup_samples([StageSample(stage=row.stage.name, **v) for v in raw])
        sums = [getattr(row, name) for name in ROLLUP_SUMS]
        stored = stage_rollup(row.stage.name, sums, row.failure_modes)
        for field in ("first_ts", "last_ts", "count", "utilization_count"):
            assert getattr(stored, field) == getattr(expected, field), field
        for field in ("blocked_count", "last_queue_depth", "errors", "dropped"):
            assert getattr(stored, field) == getattr(expected, field), field
        assert stored.failure_modes == expected.failure_modes
        for field in (
            "capacity_sum",
            "throughput_sum",
            "utilization_sum",
            "blocked_sum",
            "latency_p95_max_ms",
            "time_sum",
            "queue_sum",
            "time_sq_sum",
            "time_queue_sum",
            "queue_sq_sum",
        ):
            assert getattr(stored, field) == pytest.approx(getattr(expected, field)), (
                field
            )
