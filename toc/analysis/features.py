"""Which features earn their compute: importance per unit of cost."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from toc.analysis.validation import require_non_negative, require_unique

DEFAULT_CONTRIBUTION_FLOOR = 0.01


@dataclass(frozen=True, slots=True)
class Feature:
    """``importance`` in any non-negative unit (e.g. mean |SHAP|); ``compute_cost``
    in any non-negative unit (e.g. ms per record), the same for every feature."""

    name: str
    importance: float
    compute_cost: float


@dataclass(frozen=True, slots=True)
class FeatureValue:
    """``score`` = importance / compute cost: infinite for a free feature that matters,
    0 for one that neither matters nor costs. ``cumulative_cost_share`` is the share of
    all compute spent on this feature and every better-scoring one."""

    name: str
    importance: float
    compute_cost: float
    score: float
    importance_share: float
    cost_share: float
    cumulative_cost_share: float
    prune_candidate: bool


def feature_values(
    features: Sequence[Feature],
    contribution_floor: float = DEFAULT_CONTRIBUTION_FLOOR,
) -> list[FeatureValue]:
    """Features from best to worst score (ties: cheaper first, then by name).

    A feature is a pruning candidate when its share of the total importance is under
    ``contribution_floor`` and it costs something: dropping a free feature saves
    nothing.
    """
    require_unique([feature.name for feature in features], "feature names")
    for feature in features:
        require_non_negative(f"{feature.name} importance", feature.importance)
        require_non_negative(f"{feature.name} compute_cost", feature.compute_cost)
    total_importance = math.fsum(feature.importance for feature in features)
    total_cost = math.fsum(feature.compute_cost for feature in features)
    ranked = sorted(
        features,
        key=lambda feature: (-_score(feature), feature.compute_cost, feature.name),
    )
    values = []
    spent = 0.0
    for feature in ranked:
        importance_share = _share(feature.importance, total_importance)
        spent += feature.compute_cost
        values.append(
            FeatureValue(
                name=feature.name,
                importance=feature.importance,
                compute_cost=feature.compute_cost,
                score=_score(feature),
                importance_share=importance_share,
                cost_share=_share(feature.compute_cost, total_cost),
                cumulative_cost_share=_share(spent, total_cost),
                prune_candidate=importance_share < contribution_floor
                and feature.compute_cost > 0,
            )
        )
    return values


def _score(feature: Feature) -> float:
    if feature.compute_cost > 0:
        return feature.importance / feature.compute_cost
    return math.inf if feature.importance > 0 else 0.0


def _share(part: float, total: float) -> float:
    return part / total if total > 0 else 0.0
