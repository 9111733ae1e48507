from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import Feature, feature_values

from .builders import PROPERTY

FEATURES = [
    Feature("bytes_per_flow", importance=0.5, compute_cost=10.0),  # 0.05 per unit
    Feature("port_entropy", importance=0.3, compute_cost=1.0),  # 0.3 per unit
    Feature("geo_lookup", importance=0.2, compute_cost=100.0),  # 0.002 per unit
]


def test_features_are_ranked_by_importance_per_unit_of_cost() -> None:
    values = feature_values(FEATURES)

    assert [value.name for value in values] == [
        "port_entropy",
        "bytes_per_flow",
        "geo_lookup",
    ]
    assert [value.score for value in values] == pytest.approx([0.3, 0.05, 0.002])


def test_cumulative_compute_share_follows_the_ranking() -> None:
    values = feature_values(FEATURES)

    # Costs 1, 10, 100 out of 111.
    assert [value.cumulative_cost_share for value in values] == pytest.approx(
        [1 / 111, 11 / 111, 1.0]
    )
    assert [value.cost_share for value in values] == pytest.approx(
        [1 / 111, 10 / 111, 100 / 111]
    )


def test_features_contributing_under_the_floor_are_pruning_candidates() -> None:
    values = {value.name: value for value in feature_values(FEATURES, 0.25)}

    assert values["geo_lookup"].prune_candidate
    assert not values["port_entropy"].prune_candidate
    assert values["geo_lookup"].importance_share == pytest.approx(0.2)


def test_free_feature_that_matters_ranks_first_and_is_never_pruned() -> None:
    free = Feature("cached_flag", importance=0.001, compute_cost=0.0)

    values = feature_values([*FEATURES, free], contribution_floor=0.5)

    assert values[0].name == "cached_flag"
    assert values[0].score == math.inf
    assert not values[0].prune_candidate


def test_free_feature_that_does_not_matter_scores_zero() -> None:
    values = feature_values([Feature("noop", importance=0.0, compute_cost=0.0)])

    assert values[0].score == 0.0
    assert values[0].cost_share == 0.0
    assert values[0].cumulative_cost_share == 0.0


def test_equal_scores_put_the_cheaper_feature_first() -> None:
    values = feature_values([Feature("big", 2.0, 20.0), Feature("small", 1.0, 10.0)])

    assert [value.name for value in values] == ["small", "big"]


def test_no_features_give_no_values() -> None:
    assert feature_values([]) == []


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([Feature("a", -1.0, 1.0)], "importance"),
        ([Feature("a", 1.0, math.nan)], "compute_cost"),
        ([Feature("a", 1.0, 1.0), Feature("a", 2.0, 1.0)], "repeat"),
    ],
)
def test_invalid_features_are_rejected(features: list[Feature], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        feature_values(features)


feature_lists = st.lists(
    st.builds(
        Feature,
        st.uuids().map(str),
        importance=st.sampled_from([0.0]) | st.floats(min_value=0, max_value=100),
        compute_cost=st.sampled_from([0.0]) | st.floats(min_value=0, max_value=100),
    ),
    max_size=12,
)


@PROPERTY
@given(feature_lists, st.floats(min_value=0, max_value=1))
def test_ranking_shares_and_pruning_are_consistent(
    features: list[Feature], floor: float
) -> None:
    values = feature_values(features, floor)

    assert sorted(value.name for value in values) == sorted(f.name for f in features)
    scores = [value.score for value in values]
    assert scores == sorted(scores, reverse=True)
    cumulative = [value.cumulative_cost_share for value in values]
    assert cumulative == sorted(cumulative)
    if any(feature.compute_cost > 0 for feature in features):
        assert cumulative[-1] == pytest.approx(1.0)
    if any(feature.importance > 0 for feature in features):
        assert math.fsum(v.importance_share for v in values) == pytest.approx(1.0)
    for value in values:
        assert value.prune_candidate == (
            value.importance_share < floor and value.compute_cost > 0
        )
