"""Minimum viable experiment: success criteria, the verdict, and the decision taken."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from toc.analysis.slo import Comparator, SloStatus, evaluate_slo


class ExperimentVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


class Decision(StrEnum):
    GO = "go"
    NO_GO = "no_go"
    ITERATE = "iterate"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One success criterion, e.g. false negative rate ``==`` 0; ``result`` is None
    until the experiment has measured it."""

    metric: str
    comparator: Comparator
    threshold: float
    result: float | None = None

    def __post_init__(self) -> None:
        if not self.metric.strip():
            raise ValueError("a criterion needs a metric name")
        # Stored criteria come back with the symbol as a plain string.
        object.__setattr__(self, "comparator", Comparator(self.comparator))
        if not math.isfinite(self.threshold):
            raise ValueError(f"{self.metric}: threshold must be a finite number")
        if self.result is not None and math.isnan(self.result):
            raise ValueError(f"{self.metric}: result must be a number, got NaN")


@dataclass(frozen=True, slots=True)
class CriterionOutcome:
    """``passed`` is None while the criterion has no result."""

    criterion: Criterion
    passed: bool | None

    @property
    def summary(self) -> str:
        criterion = self.criterion
        wanted = (
            f"{criterion.metric} {criterion.comparator.label} {criterion.threshold:g}"
        )
        if self.passed is None:
            return f"{wanted}: not measured yet"
        verdict = "passed" if self.passed else "failed"
        return f"{wanted}: measured {criterion.result:g}, {verdict}"


def judge(
    criteria: Sequence[Criterion],
) -> tuple[ExperimentVerdict, list[CriterionOutcome]]:
    """The verdict and one outcome per criterion, in the order given.

    One failed criterion fails the experiment even while others are unmeasured: more
    results cannot rescue it. Otherwise a missing result, or having no criteria at
    all, leaves it incomplete: an experiment that tests nothing has not passed.
    """
    outcomes = [
        CriterionOutcome(criterion, _passed(criterion)) for criterion in criteria
    ]
    passed = [outcome.passed for outcome in outcomes]
    if False in passed:
        verdict = ExperimentVerdict.FAILED
    elif not passed or None in passed:
        verdict = ExperimentVerdict.INCOMPLETE
    else:
        verdict = ExperimentVerdict.PASSED
    return verdict, outcomes


def _passed(criterion: Criterion) -> bool | None:
    status = evaluate_slo(criterion.comparator, criterion.threshold, criterion.result)
    if status is SloStatus.UNKNOWN:
        return None
    return status is SloStatus.MET


def check_decision(
    decision: Decision | str, verdict: ExperimentVerdict | str, reason: str
) -> str | None:
    """An error message when the decision needs a written reason it lacks, else None.

    Going ahead without a passed experiment may be right (a criterion was set too
    strictly), but the team has to say why; stopping or iterating needs no defence.
    """
    decision = Decision(decision)
    verdict = ExperimentVerdict(verdict)
    if (
        decision is Decision.GO
        and verdict is not ExperimentVerdict.PASSED
        and not reason.strip()
    ):
        return (
            f"The experiment has {_verdict_in_words(verdict)}; write down why the "
            "team goes ahead anyway."
        )
    return None


def _verdict_in_words(verdict: ExperimentVerdict) -> str:
    if verdict is ExperimentVerdict.FAILED:
        return "failed"
    return "not passed yet (criteria or results are missing)"
