"""Service level objectives: is a measured value on the right side of its target?"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from enum import StrEnum

from toc.analysis.validation import require_non_negative

# Relative tolerance of "==": a target of 0.3 must accept 0.1 + 0.2.
EQUAL_REL_TOL = 1e-9


class Comparator(StrEnum):
    AT_MOST = "<="
    BELOW = "<"
    AT_LEAST = ">="
    ABOVE = ">"
    EXACTLY = "=="

    @property
    def label(self) -> str:
        """The comparator in words, as in "p95 latency at most 5 min"."""
        return _RULES[self][0]

    def holds(self, value: float, threshold: float) -> bool:
        """Whether ``value`` stands in this relation to ``threshold``."""
        return _RULES[self][1](value, threshold)


def _close(value: float, threshold: float) -> bool:
    return math.isclose(value, threshold, rel_tol=EQUAL_REL_TOL)


_RULES: dict[Comparator, tuple[str, Callable[[float, float], bool]]] = {
    Comparator.AT_MOST: ("at most", operator.le),
    Comparator.BELOW: ("below", operator.lt),
    Comparator.AT_LEAST: ("at least", operator.ge),
    Comparator.ABOVE: ("above", operator.gt),
    Comparator.EXACTLY: ("exactly", _close),
}


class SloStatus(StrEnum):
    MET = "met"
    VIOLATED = "violated"
    UNKNOWN = "unknown"


def evaluate_slo(
    comparator: Comparator | str, target: float, measured: float | None
) -> SloStatus:
    """``unknown`` until something has been measured.

    ``comparator`` may be given by its symbol (as stored), e.g. ``"<="``. A measured
    value may be infinite (a queue that never drains); the target must be finite.
    """
    comparator = Comparator(comparator)
    if not math.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target!r}")
    if measured is None:
        return SloStatus.UNKNOWN
    # NaN would quietly fail every comparison and read as a violation.
    if math.isnan(measured):
        raise ValueError("measured must be a number, got NaN")
    return SloStatus.MET if comparator.holds(measured, target) else SloStatus.VIOLATED


def data_loss_share(dropped: float, throughput_records: float) -> float | None:
    """Share of the records that reached the stage and were dropped, 0..1.

    ``throughput_records`` counts the records processed over the same window as
    ``dropped``, so the records that arrived are ``dropped + throughput_records``.
    None when nothing arrived: no traffic is not the same as no loss.
    """
    require_non_negative("dropped", dropped)
    require_non_negative("throughput_records", throughput_records)
    arrived = dropped + throughput_records
    if arrived == 0:
        return None
    return dropped / arrived
