from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import CascadeTier, plan_cascade

from .builders import PROPERTY

# The method article's cascade: Tier-1 sees everything and settles 68%; Tier-2 then
# sees 32% and settles 7/8 of it, leaving 4% for Tier-3, which settles 80% and
# sends 0.8% (<1%) to forensics.
ARTICLE_CASCADE = [
    CascadeTier("Tier-1", exit_share=0.68, cost_ms=1.0),
    CascadeTier("Tier-2", exit_share=0.875, cost_ms=10.0),
    CascadeTier("Tier-3", exit_share=0.8, cost_ms=100.0),
    CascadeTier("Forensic", exit_share=1.0, cost_ms=1000.0),
]


def test_each_tier_sees_what_the_tiers_before_it_did_not_settle() -> None:
    plan = plan_cascade(ARTICLE_CASCADE, input_rate=10_000)

    assert [tier.reach_share for tier in plan.tiers] == pytest.approx(
        [1.0, 0.32, 0.04, 0.008]
    )
    assert [tier.load for tier in plan.tiers] == pytest.approx([10_000, 3_200, 400, 80])


def test_capacity_needed_keeps_each_tier_at_the_target_utilization() -> None:
    plan = plan_cascade(ARTICLE_CASCADE, input_rate=10_000)

    assert [tier.required_capacity for tier in plan.tiers] == pytest.approx(
        [10_000 / 0.7, 3_200 / 0.7, 400 / 0.7, 80 / 0.7]
    )
    # Tier-2: 3200 records/s x 10 ms = 32 records in flight, / 0.7.
    assert plan.tiers[1].required_workers == pytest.approx(32 / 0.7)


def test_target_utilization_can_be_changed() -> None:
    plan = plan_cascade(ARTICLE_CASCADE, input_rate=10_000, target_utilization=0.5)

    assert plan.tiers[0].required_capacity == pytest.approx(20_000)


def test_mean_latency_weights_each_tier_cost_by_the_share_reaching_it() -> None:
    plan = plan_cascade(ARTICLE_CASCADE, input_rate=10_000)

    # 1 x 1 + 0.32 x 10 + 0.04 x 100 + 0.008 x 1000 ms
    assert plan.mean_latency_ms == pytest.approx(1 + 3.2 + 4 + 8)


def test_mean_latency_does_not_depend_on_the_input_rate() -> None:
    assert plan_cascade(ARTICLE_CASCADE, 1).mean_latency_ms == pytest.approx(
        plan_cascade(ARTICLE_CASCADE, 1e6).mean_latency_ms
    )


@pytest.mark.parametrize(
    ("tiers", "input_rate", "target", "message"),
    [
        ([], 1.0, 0.7, "at least one tier"),
        ([CascadeTier("A", 1.2, 1.0)], 1.0, 0.7, "exit_share"),
        ([CascadeTier("A", 0.5, -1.0)], 1.0, 0.7, "cost_ms"),
        ([CascadeTier("A", 0.5, 1.0)], -1.0, 0.7, "input_rate"),
        ([CascadeTier("A", 0.5, 1.0)], 1.0, 0.0, "target_utilization"),
        ([CascadeTier("A", 0.5, 1.0)] * 2, 1.0, 0.7, "repeat"),
    ],
)
def test_impossible_cascades_are_rejected(
    tiers: list[CascadeTier], input_rate: float, target: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_cascade(tiers, input_rate, target)


cascades = st.lists(
    st.builds(
        CascadeTier,
        st.uuids().map(str),
        exit_share=st.floats(min_value=0, max_value=1),
        cost_ms=st.floats(min_value=0, max_value=1e4),
    ),
    min_size=1,
    max_size=6,
)


@PROPERTY
@given(cascades, st.floats(min_value=0, max_value=1e6))
def test_load_only_thins_out_down_the_cascade_and_latency_is_bounded(
    tiers: list[CascadeTier], input_rate: float
) -> None:
    plan = plan_cascade(tiers, input_rate)

    reach = [tier.reach_share for tier in plan.tiers]
    assert reach[0] == 1.0
    assert reach == sorted(reach, reverse=True)
    for tier in plan.tiers:
        assert tier.load == pytest.approx(input_rate * tier.reach_share)
        assert tier.required_capacity >= tier.load
    # Every record pays the first tier; none pays more than every tier.
    assert tiers[0].cost_ms <= plan.mean_latency_ms * (1 + 1e-12)
    assert plan.mean_latency_ms <= sum(tier.cost_ms for tier in tiers) * (1 + 1e-12)
