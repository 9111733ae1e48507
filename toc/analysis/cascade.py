"""Load and capacity of a tiered cascade, where each tier settles some records and
passes the rest on to a costlier tier."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from toc.analysis.validation import require_non_negative, require_unique

DEFAULT_TARGET_UTILIZATION = 0.7
MS_PER_SECOND = 1000


@dataclass(frozen=True, slots=True)
class CascadeTier:
    """``exit_share`` is the share of the records reaching this tier that leave here;
    ``cost_ms`` is the processing time one record takes at this tier."""

    name: str
    exit_share: float
    cost_ms: float


@dataclass(frozen=True, slots=True)
class TierLoad:
    """``reach_share`` of the input reaches the tier, i.e. ``load`` records/s.
    ``required_capacity`` (records/s) and ``required_workers`` (records processed in
    parallel, e.g. cores for CPU-bound work) keep it at the target utilization."""

    name: str
    reach_share: float
    load: float
    required_capacity: float
    required_workers: float


@dataclass(frozen=True, slots=True)
class CascadePlan:
    """``mean_latency_ms`` is the expected processing time of one input record:
    the sum over tiers of reach share x cost."""

    input_rate: float
    target_utilization: float
    tiers: tuple[TierLoad, ...]
    mean_latency_ms: float


def plan_cascade(
    tiers: Sequence[CascadeTier],
    input_rate: float,
    target_utilization: float = DEFAULT_TARGET_UTILIZATION,
) -> CascadePlan:
    """Loads, capacities and mean latency for ``input_rate`` records/s entering the
    first tier. The last tier's exit share changes nothing: no tier follows it."""
    if not tiers:
        raise ValueError("a cascade needs at least one tier")
    require_unique([tier.name for tier in tiers], "tier names")
    require_non_negative("input_rate", input_rate)
    if not 0 < target_utilization <= 1:
        raise ValueError("target_utilization must be in (0, 1]")
    loads = []
    reach_share = 1.0
    for tier in tiers:
        require_non_negative(f"{tier.name} cost_ms", tier.cost_ms)
        if not 0 <= tier.exit_share <= 1:
            raise ValueError(f"{tier.name} exit_share must be in [0, 1]")
        load = input_rate * reach_share
        loads.append(
            TierLoad(
                name=tier.name,
                reach_share=reach_share,
                load=load,
                required_capacity=load / target_utilization,
                required_workers=load
                * tier.cost_ms
                / MS_PER_SECOND
                / target_utilization,
            )
        )
        reach_share *= 1 - tier.exit_share
    return CascadePlan(
        input_rate=input_rate,
        target_utilization=target_utilization,
        tiers=tuple(loads),
        mean_latency_ms=math.fsum(
            load.reach_share * tier.cost_ms
            for load, tier in zip(loads, tiers, strict=True)
        ),
    )
