from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from toc.analysis import LedgerRow, find_constraint, what_if

from .builders import PROPERTY, article_ledger, ledgers, row

raising_factors = st.one_of(
    st.just(1.0), st.floats(min_value=1.0, max_value=20.0), st.just(1e6)
)


def row_of(stage: str, rows: tuple[LedgerRow, ...]) -> LedgerRow:
    return next(each for each in rows if each.stage == stage)


def test_scaling_capacity_divides_utilization_and_keeps_load() -> None:
    result = what_if(article_ledger(), "Feature-Tier2", 2.0)

    tier2 = row_of("Feature-Tier2", result.rows)
    assert tier2.capacity == 60_000
    assert tier2.load == pytest.approx(28_500)
    assert tier2.utilization == pytest.approx(0.475)


def test_extra_capacity_works_off_the_queue() -> None:
    # 4 records/s of growth against 30K records/s of extra capacity.
    result = what_if(article_ledger(), "Feature-Tier2", 2.0)

    assert row_of("Feature-Tier2", result.rows).queue_trend == pytest.approx(4 - 30_000)


def test_doubling_the_article_constraint_leaves_feature_tier1_as_the_limit() -> None:
    result = what_if(article_ledger(), "Feature-Tier2", 2.0)

    assert result.before.stage == "Feature-Tier2"
    # Nothing is saturated any more; Tier1 is the next stage to fill up.
    assert result.after.external
    assert result.after.next_constraint == "Feature-Tier1"
    assert result.before.ceiling == pytest.approx(1 / 0.95)
    assert result.after.ceiling == pytest.approx(1 / 0.65)
    assert result.summary == (
        "With Feature-Tier2 at 2× its capacity, the constraint moves from "
        "Feature-Tier2 to outside the pipeline and the ceiling rises from 1.05× to "
        "1.54× load growth before a stage saturates. Next constraint: "
        "Feature-Tier1, the first stage to saturate as load grows."
    )


def test_a_constraint_lifted_just_below_saturation_is_the_next_one_again() -> None:
    result = what_if(article_ledger(), "Feature-Tier2", 1.2)

    assert result.after.external
    assert result.summary.endswith(
        "Next constraint: Feature-Tier2 again, the first stage to saturate as load "
        "grows."
    )


@pytest.mark.parametrize(
    ("nudge", "tightest"), [(0.99, "Feature-Tier2"), (1.01, "Feature-Tier1")]
)
def test_the_lift_is_where_the_runner_up_becomes_the_tighter_stage(
    nudge: float, tightest: str
) -> None:
    rows = article_ledger()
    lift = find_constraint(rows).lift

    result = what_if(rows, "Feature-Tier2", lift * nudge)

    assert result.after.next_constraint == tightest


def test_raising_a_non_constraint_changes_nothing_that_matters() -> None:
    result = what_if(article_ledger(), "Alerting", 10.0)

    assert result.after.stage == result.before.stage == "Feature-Tier2"
    assert result.after.ceiling == result.before.ceiling
    assert result.summary == (
        "With Alerting at 10× its capacity, the constraint stays at Feature-Tier2 "
        "and the ceiling stays at 1.05× load growth before a stage saturates. Next "
        "constraint: Feature-Tier1 once Feature-Tier2 gets 1.46× its capacity."
    )


def test_the_summary_counts_the_lift_from_todays_capacity_as_the_card_does() -> None:
    rows = article_ledger()
    card = find_constraint(rows)

    result = what_if(rows, "Feature-Tier2", 1.1)

    # The card says "Feature-Tier1 once Feature-Tier2 gets 1.46× its capacity";
    # with 1.1× of it granted, the same fact keeps the same number.
    assert card.lift == pytest.approx(0.95 / 0.65)
    assert result.after.stage == "Feature-Tier2"
    assert result.summary.endswith(
        "Next constraint: Feature-Tier1 once Feature-Tier2 gets 1.46× its capacity."
    )


def test_the_summary_says_when_the_runner_up_is_as_close_to_its_limit() -> None:
    rows = [row("A", utilization=0.9), row("B", utilization=0.9)]

    summary = what_if(rows, "B", 1.0).summary

    assert summary.endswith(", which is as close to its limit already.")
    assert "the ceiling stays at 1.11×" in summary


def test_a_ceiling_that_rounds_to_the_same_factor_stays() -> None:
    rows = [row("A", utilization=0.9), row("B", utilization=0.5)]

    result = what_if(rows, "A", 1.0001)

    assert result.after.ceiling != result.before.ceiling
    summary = result.summary

    assert "the constraint stays at A and the ceiling stays at 1.11×" in summary


def test_cutting_capacity_can_create_a_constraint() -> None:
    rows = [row("A", utilization=0.6), row("B", utilization=0.5)]

    result = what_if(rows, "B", 0.5)

    assert result.before.external
    assert result.after.stage == "B"
    # Load above the new capacity: utilization past 100%, headroom under 1.
    assert row_of("B", result.rows).utilization == pytest.approx(1.0)
    assert what_if(rows, "B", 0.25).after.ceiling == pytest.approx(0.5)


def test_held_back_stage_turns_the_time_it_saves_into_waiting() -> None:
    rows = [
        row("A", utilization=0.95, blocked=0.6),
        row("B", utilization=0.9),
    ]

    scaled = row_of("A", what_if(rows, "A", 2.0).rows)

    # Busy 35% -> 17.5%; the successor still sets the pace, so it waits longer.
    assert scaled.utilization == pytest.approx(0.95)
    assert scaled.blocked == pytest.approx(0.775)


def test_unblocked_stage_keeps_its_blocked_share_when_scaled() -> None:
    # Busy 86%, above the threshold: saturated in its own right, not held back.
    rows = [row("A", utilization=0.96, blocked=0.1)]

    scaled = row_of("A", what_if(rows, "A", 2.0).rows)

    assert scaled.busy == pytest.approx(0.43)
    assert scaled.blocked == 0.1


def test_stage_without_data_is_left_as_it_is() -> None:
    rows = [LedgerRow("Silent"), row("A", utilization=0.9)]

    result = what_if(rows, "Silent", 3.0)

    assert result.rows == tuple(rows)
    assert result.after == result.before


def test_unknown_stage_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown stage 'Nope'"):
        what_if(article_ledger(), "Nope", 2.0)


@pytest.mark.parametrize("factor", [0.0, -1.0, math.inf, math.nan])
def test_factor_must_be_a_positive_finite_number(factor: float) -> None:
    with pytest.raises(ValueError, match="factor"):
        what_if(article_ledger(), "Ingest", factor)


@PROPERTY
@given(ledgers(), st.data())
def test_factor_one_is_the_identity(rows: list[LedgerRow], data: st.DataObject) -> None:
    stage = data.draw(st.sampled_from([each.stage for each in rows]))

    result = what_if(rows, stage, 1.0)

    assert result.rows == tuple(rows)
    assert result.after == result.before


@PROPERTY
@given(ledgers(), raising_factors)
def test_raising_the_constraint_never_lowers_the_ceiling(
    rows: list[LedgerRow], factor: float
) -> None:
    before = find_constraint(rows)
    assume(before.stage is not None)

    after = what_if(rows, before.stage, factor).after

    assert after.ceiling >= before.ceiling


@PROPERTY
@given(ledgers(min_stages=2), raising_factors, st.data())
def test_raising_a_non_constraint_stage_never_changes_the_ceiling(
    rows: list[LedgerRow], factor: float, data: st.DataObject
) -> None:
    before = find_constraint(rows)
    # A growing queue can make a stage the constraint before a tighter stage
    # saturates; raising that tighter stage then lifts the ceiling.
    assume(before.stage is not None and before.headroom == before.ceiling)
    stage = data.draw(
        st.sampled_from([each.stage for each in rows if each.stage != before.stage])
    )

    after = what_if(rows, stage, factor).after

    assert after.ceiling == before.ceiling
    assert after.stage == before.stage


@PROPERTY
@given(ledgers(), raising_factors, st.data())
def test_raising_any_stage_never_lowers_the_ceiling(
    rows: list[LedgerRow], factor: float, data: st.DataObject
) -> None:
    """Also with the constraint outside the pipeline, where the stage closest to
    saturation sets the ceiling."""
    stage = data.draw(st.sampled_from([each.stage for each in rows]))
    before = find_constraint(rows)

    after = what_if(rows, stage, factor).after

    if before.ceiling is not None:
        assert after.ceiling >= before.ceiling
        if stage != before.next_constraint and stage != before.stage:
            assert after.ceiling == before.ceiling
