"""Review of a Five-Whys chain: what is missing before the team can trust its root
cause."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# Fewer whys than this rarely gets past the symptom.
MIN_WHYS = 3
# The problem must explain at least half of the gap to the goal (Barnard's pairing).
MIN_GAP_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Why:
    answer: str
    evidence: str = ""
    validated: bool = False

    def __post_init__(self) -> None:
        if not self.answer.strip():
            raise ValueError("a why needs an answer")


class RootCause(StrEnum):
    FEATURE_EXPLOSION = "feature_explosion"
    MULTI_GRANULARITY = "multi_granularity"
    STALE_REFERENCE_DATA = "stale_reference_data"
    ORGANIZATIONAL = "organizational"
    OTHER = "other"

    @property
    def description(self) -> str:
        return _ROOT_CAUSES[self]


_ROOT_CAUSES = {
    RootCause.FEATURE_EXPLOSION: (
        "Features are only ever added: each has someone who vouches for it and none "
        "has a date to go, so many repeat what others already say."
    ),
    RootCause.MULTI_GRANULARITY: (
        "Signals are computed at every time scale, from seconds to days, while most "
        "decisions use only one of them."
    ),
    RootCause.STALE_REFERENCE_DATA: (
        "Baselines, embeddings or aggregates are recomputed for many entities that "
        "barely change between updates, at a cost far above what they add."
    ),
    RootCause.ORGANIZATIONAL: (
        "How the teams work causes it: silos, incentives that pull apart, nobody "
        "owning the end-to-end result."
    ),
    RootCause.OTHER: "A cause outside the usual patterns; the chain says which.",
}


class ChainWarning(StrEnum):
    MISSING_EVIDENCE = "missing_evidence"
    UNVALIDATED = "unvalidated"
    STOPS_AT_TECHNICAL = "stops_at_technical"
    TOO_SHORT = "too_short"
    EXPLAINS_TOO_LITTLE = "explains_too_little"
    GAP_UNKNOWN = "gap_unknown"

    @property
    def message(self) -> str:
        return _WARNINGS[self]


_WARNINGS = {
    ChainWarning.MISSING_EVIDENCE: (
        "No evidence is recorded for this answer; a plausible answer without data "
        "can lead the rest of the chain astray."
    ),
    ChainWarning.UNVALIDATED: (
        "This answer has not been checked yet; confirm it before building on it."
    ),
    ChainWarning.STOPS_AT_TECHNICAL: (
        "The chain ends at a technical cause. Technical causes usually have an "
        "organizational parent (silos, incentives, no end-to-end owner): ask why once "
        "more."
    ),
    ChainWarning.TOO_SHORT: (
        f"Fewer than {MIN_WHYS} whys rarely get past the symptom; keep asking."
    ),
    ChainWarning.EXPLAINS_TOO_LITTLE: (
        "This problem explains less than half of the gap to the goal; look for the "
        "problem that explains most of it."
    ),
    ChainWarning.GAP_UNKNOWN: (
        "How much of the gap this problem explains is not estimated yet; it must be "
        "at least half."
    ),
}


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """``index`` is the 0-based position of the why concerned; None for a finding
    about the whole chain."""

    code: ChainWarning
    message: str
    index: int | None = None


def review_chain(
    whys: Sequence[Why], root_cause: RootCause | None, gap_share: float | None
) -> list[ChainFinding]:
    """What keeps the chain from being trusted; empty when nothing does.

    Order: the findings about each why in chain order (missing evidence before
    unvalidated), then those about the whole chain in the order of ``ChainWarning``.
    A chain without a root-cause category yet cannot be said to stop at a technical
    one, so it gets no ``stops_at_technical``. ``gap_share`` is the share (0..1) of
    the gap to the goal that the problem explains.
    """
    if gap_share is not None and not (math.isfinite(gap_share) and 0 <= gap_share <= 1):
        raise ValueError(f"gap_share must be a share in [0, 1], got {gap_share!r}")
    findings = []
    for index, why in enumerate(whys):
        if not why.evidence.strip():
            findings.append(_finding(ChainWarning.MISSING_EVIDENCE, index))
        if not why.validated:
            findings.append(_finding(ChainWarning.UNVALIDATED, index))
    if root_cause is not None and RootCause(root_cause) is not RootCause.ORGANIZATIONAL:
        findings.append(_finding(ChainWarning.STOPS_AT_TECHNICAL))
    if len(whys) < MIN_WHYS:
        findings.append(_finding(ChainWarning.TOO_SHORT))
    if gap_share is None:
        findings.append(_finding(ChainWarning.GAP_UNKNOWN))
    elif gap_share < MIN_GAP_SHARE:
        findings.append(_finding(ChainWarning.EXPLAINS_TOO_LITTLE))
    return findings


def _finding(code: ChainWarning, index: int | None = None) -> ChainFinding:
    if index is None:
        return ChainFinding(code, code.message)
    return ChainFinding(code, f"Why {index + 1}: {code.message}", index)
