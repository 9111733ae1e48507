from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    ConfidenceLabel,
    LedgerRow,
    assess_stages,
    find_constraint,
)

from .builders import PROPERTY, article_ledger, ledgers, row


def assessment_of(stage: str, rows: list[LedgerRow]):
    return next(item for item in assess_stages(rows) if item.stage == stage)


def test_article_constraint_is_feature_tier2_not_the_smallest_capacity_stage() -> None:
    rows = article_ledger()

    finding = find_constraint(rows)

    smallest = sorted(rows, key=lambda each: each.capacity)
    assert [each.stage for each in smallest[:2]] == ["Alerting", "Feature-Tier3"]
    assert finding.stage == "Feature-Tier2"
    assert not finding.external


def test_article_next_constraint_is_feature_tier1() -> None:
    finding = find_constraint(article_ledger())

    assert finding.next_constraint == "Feature-Tier1"
    assert finding.next_headroom == pytest.approx(1 / 0.65)


def test_article_lift_is_where_tier2_utilization_falls_to_tier1s() -> None:
    # 0.95 / k = 0.65 when Tier2's capacity grows by k = 0.95 / 0.65.
    finding = find_constraint(article_ledger())

    assert finding.lift == pytest.approx(0.95 / 0.65)


def test_article_reason_names_stage_utilization_threshold_and_runner_up() -> None:
    finding = find_constraint(article_ledger())

    # The article's queue (1.2K records at 28.5K records/s, 4 records/s more) is a
    # tenth of a second of work: too small next to the throughput to count.
    assert finding.reason == (
        "Feature-Tier2 runs at 95% utilization, at or above the 85% saturation "
        "threshold; the next closest stage, Feature-Tier1, has 1.5× more headroom."
    )


def test_article_ceiling_is_tier2_headroom_and_sets_the_input_rate_limit() -> None:
    finding = find_constraint(article_ledger())

    assert finding.headroom == pytest.approx(1 / 0.95)
    assert finding.ceiling == pytest.approx(1 / 0.95)
    # Ingest's 60% of 100K is the input rate.
    assert finding.max_input_rate == pytest.approx(60_000 / 0.95)


def test_article_finding_is_medium_confidence_without_queue_evidence() -> None:
    # Tier1 has 1.46x Tier2's headroom: nearly decisive, and no queue confirms it.
    finding = find_constraint(article_ledger())

    assert finding.confidence == pytest.approx(0.6 * (0.95 / 0.65 - 1) / 0.5)
    assert finding.confidence_label is ConfidenceLabel.MEDIUM


def test_a_clear_lead_with_a_sustained_growing_queue_is_high_confidence() -> None:
    rows = [
        row("A", utilization=0.6),
        row("B", utilization=0.97, queue_depth=9_000, queue_trend=30.0),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.confidence == pytest.approx(1.0)
    assert finding.confidence_label is ConfidenceLabel.HIGH
    assert "with its queue growing by 30.0 records/s" in finding.reason


def test_a_queue_trend_within_its_own_noise_is_no_evidence() -> None:
    noisy = replace(
        row("B", utilization=0.97, queue_depth=9_000, queue_trend=30.0),
        queue_trend_noise=12.0,
    )

    finding = find_constraint([row("A", utilization=0.6), noisy])

    assert not noisy.queue_growing
    assert finding.stage == "B"
    assert "growing" not in finding.reason


def test_cascade_constraint_is_not_the_smallest_capacity_stage() -> None:
    # Each tier sees a fraction of the traffic, so capacities shrink down the line.
    rows = [
        row("Tier-1", capacity=100_000, utilization=0.6),
        row("Tier-2", capacity=35_000, utilization=0.9),
        row("Tier-3", capacity=4_000, utilization=0.5),
        row("Forensic", capacity=500, utilization=0.3),
    ]

    assert find_constraint(rows).stage == "Tier-2"


def test_saturated_stage_with_a_flat_queue_is_the_constraint() -> None:
    rows = [row("A", utilization=0.5), row("B", utilization=0.9)]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.headroom == pytest.approx(1 / 0.9)
    assert "at or above the 85% saturation threshold" in finding.reason


def test_growing_queue_makes_an_unsaturated_stage_the_constraint() -> None:
    rows = [
        row("A", utilization=0.7),
        row("B", utilization=0.5, queue_depth=3_000, queue_trend=20.0),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.next_constraint == "A"
    assert "about to saturate" in finding.reason
    # The ceiling is still the least headroom: A fills up first as load grows.
    assert finding.ceiling == pytest.approx(1 / 0.7)


def test_a_growing_queue_never_outranks_a_busier_saturated_stage() -> None:
    # A burst at a 36%-busy stage once beat a stage at 94%; utilization leads.
    rows = [
        row("A", utilization=0.36, queue_depth=3_000, queue_trend=50.0),
        row("B", utilization=0.94),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.headroom == pytest.approx(1 / 0.94)


def test_least_headroom_wins_among_saturated_stages() -> None:
    rows = [row("A", utilization=0.9), row("B", utilization=0.97)]

    assert find_constraint(rows).stage == "B"


def test_growing_queue_breaks_a_headroom_tie() -> None:
    rows = [
        row("A", utilization=0.97),
        row("B", utilization=0.95, queue_depth=500, queue_trend=10.0),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.near_tie == "A"
    assert finding.confidence_label is ConfidenceLabel.LOW


def test_a_near_tie_goes_to_the_incumbent_and_says_so() -> None:
    rows = [row("A", utilization=0.92), row("B", utilization=0.94)]

    fresh = find_constraint(rows)
    kept = find_constraint(rows, incumbent="A")

    assert fresh.stage == "B"
    assert kept.stage == "A"
    assert kept.near_tie == "B"
    assert kept.confidence <= 0.3
    assert kept.confidence_label is ConfidenceLabel.LOW
    assert "tied" in kept.reason


def test_the_incumbent_does_not_keep_a_lead_it_has_clearly_lost() -> None:
    rows = [row("A", utilization=0.86), row("B", utilization=0.97)]

    assert find_constraint(rows, incumbent="A").stage == "B"


def test_queue_growth_ties_are_compared_in_seconds_of_work() -> None:
    # B adds more records/s, but A falls further behind relative to what it can do.
    rows = [
        row("A", utilization=1.0, capacity=1_000, queue_depth=50, queue_trend=2.0),
        row("B", utilization=1.0, capacity=100_000, queue_depth=50, queue_trend=5.0),
    ]

    assert find_constraint(rows).stage == "A"


def test_exact_tie_goes_to_the_upstream_stage() -> None:
    rows = [row("A", utilization=0.9), row("B", utilization=0.9)]

    assert find_constraint(rows).stage == "A"


def test_blocked_stage_is_not_the_constraint_its_busy_successor_is() -> None:
    rows = [
        row("Ingest", utilization=0.4),
        row("Parse", utilization=0.95, blocked=0.6, queue_depth=900, queue_trend=3.0),
        row("Enrich", utilization=0.88),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "Enrich"
    parse = assessment_of("Parse", rows)
    assert parse.held_back
    assert parse.pressure_from == "Enrich"
    assert (
        "Parse is blocked 60% of the time waiting on Enrich, so its 95% utilization "
        "does not make it the constraint." in finding.reason
    )


def test_stage_reaching_the_threshold_only_through_blocked_time_is_held_back() -> None:
    # 90% occupied, but only 70% busy: under the 85% threshold.
    rows = [row("A", utilization=0.9, blocked=0.2), row("B", utilization=0.86)]

    assert assessment_of("A", rows).held_back
    assert find_constraint(rows).stage == "B"


def test_stage_busy_above_the_threshold_is_saturated_despite_some_blocking() -> None:
    rows = [row("A", utilization=1.0, blocked=0.1), row("B", utilization=0.5)]

    assert not assessment_of("A", rows).held_back
    assert find_constraint(rows).stage == "A"


def test_back_pressure_is_traced_through_blocked_stages_to_the_busy_one() -> None:
    rows = [
        row("A", utilization=0.95, blocked=0.7),
        LedgerRow("Silent"),
        row("B", utilization=0.9, blocked=0.55),
        row("C", utilization=0.92),
    ]

    assert assessment_of("A", rows).pressure_from == "C"
    assert assessment_of("B", rows).pressure_from == "C"
    assert find_constraint(rows).stage == "C"


def test_back_pressure_stops_at_the_first_stage_that_is_not_blocked() -> None:
    # B is neither blocked nor busy, so C's load cannot explain A's waiting.
    rows = [
        row("A", utilization=0.95, blocked=0.7),
        row("B", utilization=0.3),
        row("C", utilization=0.9),
    ]

    assert assessment_of("A", rows).pressure_from is None
    assert find_constraint(rows).stage == "C"


def test_blocked_stage_without_a_busy_successor_leaves_the_constraint_outside() -> None:
    rows = [row("A", utilization=0.95, blocked=0.7), row("B", utilization=0.3)]

    finding = find_constraint(rows)

    assert finding.external
    assert finding.stage is None
    assert "waiting on downstream stages that are not busy" in finding.reason


def test_without_saturation_or_queue_growth_the_constraint_is_outside() -> None:
    rows = [
        row("A", utilization=0.5),
        row("B", utilization=0.8),
        row("C", utilization=0.2),
    ]

    finding = find_constraint(rows)

    assert finding.external
    assert finding.stage is None
    assert finding.headroom is None
    assert finding.lift is None
    assert "outside the pipeline (demand or policy)" in finding.reason
    assert finding.next_constraint == "B"
    assert finding.ceiling == pytest.approx(1 / 0.8)
    assert "load can grow 1.25x before it is fully busy" in finding.reason


def test_a_draining_queue_alone_does_not_make_a_constraint() -> None:
    rows = [row("A", utilization=0.6, queue_depth=5_000, queue_trend=-20.0)]

    assert find_constraint(rows).external


def test_external_confidence_grows_with_the_distance_to_saturation() -> None:
    near = find_constraint([row("A", utilization=0.84)])
    far = find_constraint([row("A", utilization=0.3)])

    assert near.confidence < far.confidence
    # 84% is a near tie with the 85% threshold: outside, but barely.
    assert near.near_tie == "A"
    assert near.confidence_label is ConfidenceLabel.LOW
    assert far.near_tie is None
    assert far.confidence_label is ConfidenceLabel.HIGH


def test_stages_without_samples_are_never_the_constraint_or_next() -> None:
    rows = [
        LedgerRow("Silent-Ingest"),
        row("A", utilization=0.5, load=40.0),
        LedgerRow("Silent-Tier"),
        row("B", utilization=0.9),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.next_constraint == "A"
    assert [item.stage for item in finding.assessments] == ["A", "B"]
    # The input rate comes from the first stage that reported.
    assert finding.max_input_rate == pytest.approx(40.0 / 0.9)


def test_no_data_at_all_names_no_constraint_and_claims_nothing_external() -> None:
    finding = find_constraint([LedgerRow("A"), LedgerRow("B")])

    assert finding.stage is None
    assert not finding.external
    assert finding.ceiling is None
    assert finding.confidence == 0.0
    assert "No stage reported samples" in finding.reason


def test_single_stage_finding_says_it_is_the_only_one() -> None:
    finding = find_constraint([row("A", utilization=0.9)])

    assert finding.next_constraint is None
    assert finding.lift is None
    assert "it is the only stage reporting data" in finding.reason


def test_idle_runner_up_is_described_as_idle() -> None:
    finding = find_constraint([row("A", utilization=0.9), row("B", utilization=0.0)])

    assert "the next closest stage, B, is idle" in finding.reason
    assert finding.lift == math.inf


def test_close_runner_up_without_queue_growth_gives_low_confidence() -> None:
    close = find_constraint([row("A", utilization=0.95), row("B", utilization=0.94)])
    clear = find_constraint([row("A", utilization=0.95), row("B", utilization=0.6)])

    assert close.confidence_label is ConfidenceLabel.LOW
    # Full separation but no queue evidence: 0.6.
    assert clear.confidence == pytest.approx(0.6)
    assert clear.confidence_label is ConfidenceLabel.MEDIUM


def test_lift_is_at_least_one_when_the_constraint_leads_only_by_its_queue() -> None:
    # Once B keeps up, A (84%) is already tighter than B (50%).
    rows = [
        row("A", utilization=0.84),
        row("B", utilization=0.5, queue_depth=3_000, queue_trend=20.0),
    ]

    assert find_constraint(rows).lift == 1.0


def test_stuck_stage_with_a_growing_queue_is_the_constraint_without_a_lift() -> None:
    rows = [
        row("A", utilization=0.5),
        row("B", utilization=0.0, queue_depth=400, queue_trend=5.0),
    ]

    finding = find_constraint(rows)

    assert finding.stage == "B"
    assert finding.lift is None


def test_blocked_share_is_reported_in_the_reason_when_present() -> None:
    finding = find_constraint([row("A", utilization=0.95, blocked=0.05)])

    assert finding.reason.startswith(
        "A is busy 90% of the time (95% utilization, 5% blocked)"
    )


def test_saturation_threshold_is_configurable() -> None:
    rows = [row("A", utilization=0.75)]

    assert find_constraint(rows).external
    assert find_constraint(rows, saturation=0.7).stage == "A"


@pytest.mark.parametrize("saturation", [0.0, -0.1, 1.1])
def test_saturation_outside_zero_to_one_is_rejected(saturation: float) -> None:
    with pytest.raises(ValueError, match="saturation"):
        find_constraint([row("A", utilization=0.5)], saturation=saturation)


@PROPERTY
@given(ledgers())
def test_constraint_leads_the_candidates_and_the_ceiling_is_the_least_headroom(
    rows: list[LedgerRow],
) -> None:
    finding = find_constraint(rows)

    if finding.stage is not None:
        headrooms = [item.headroom for item in finding.assessments]
        candidates = [item for item in finding.assessments if item.is_candidate]
        tightest = min(item.headroom for item in candidates)
        assert finding.headroom <= tightest * 1.04 or math.isinf(tightest)
        assert finding.ceiling == min(headrooms)
        assert finding.next_constraint != finding.stage


@PROPERTY
@given(ledgers())
def test_constraint_is_a_measured_unblocked_stage_that_is_saturated_or_backing_up(
    rows: list[LedgerRow],
) -> None:
    finding = find_constraint(rows)

    candidates = [item for item in finding.assessments if item.is_candidate]
    if finding.stage is None:
        assert not candidates
        assert finding.external == any(each.has_data for each in rows)
    else:
        [constraint] = [
            item for item in finding.assessments if item.stage == finding.stage
        ]
        assert constraint in candidates
        assert not constraint.held_back


@PROPERTY
@given(ledgers())
def test_confidence_is_a_share_and_matches_its_label(rows: list[LedgerRow]) -> None:
    finding = find_constraint(rows)

    assert 0.0 <= finding.confidence <= 1.0
    expected = (
        ConfidenceLabel.HIGH
        if finding.confidence >= 0.75
        else ConfidenceLabel.MEDIUM
        if finding.confidence >= 0.4
        else ConfidenceLabel.LOW
    )
    assert finding.confidence_label is expected
    if finding.lift is not None:
        assert finding.lift >= 1.0


@PROPERTY
@given(
    ledgers(min_stages=2),
    st.data(),
)
def test_constraint_does_not_depend_on_the_traffic_share_a_stage_sees(
    rows: list[LedgerRow], data: st.DataObject
) -> None:
    """A stage that sees k times the traffic with k times the capacity (and a queue
    growing k times as fast) is equally loaded, so the choice must not change.

    Queue growth under an absolute epsilon (records/s) is noise, so growth close to
    it is moved clear of it first; powers of two keep the rescaling exact.
    """
    rows = [
        replace(each, queue_trend=each.queue_trend + 1)
        if each.has_data and 0 < each.queue_trend < 1
        else each
        for each in rows
    ]
    factors = data.draw(
        st.lists(
            st.sampled_from([2.0**power for power in range(-4, 7)]),
            min_size=len(rows),
            max_size=len(rows),
        )
    )
    rescaled = [
        replace(
            each,
            capacity=each.capacity * factor,
            load=each.load * factor,
            queue_trend=each.queue_trend * factor,
        )
        if each.has_data
        else each
        for each, factor in zip(rows, factors, strict=True)
    ]

    before, after = find_constraint(rows), find_constraint(rescaled)

    assert after.stage == before.stage
    assert after.next_constraint == before.next_constraint
    assert after.ceiling == before.ceiling
