from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    Comparator,
    Criterion,
    Decision,
    ExperimentVerdict,
    check_decision,
    judge,
)

from .builders import PROPERTY


def article_mve() -> list[Criterion]:
    """The article's Tier-1 triage experiment against criteria a team might set."""
    return [
        Criterion("false negative rate %", Comparator.EXACTLY, 0, result=0),
        Criterion("triage rate %", Comparator.AT_LEAST, 60, result=68),
        Criterion("p95 latency ms", Comparator.AT_MOST, 5, result=3),
        Criterion("throughput records/s", Comparator.AT_LEAST, 90_000, result=95_000),
    ]


def test_the_articles_triage_experiment_passes() -> None:
    verdict, outcomes = judge(article_mve())

    assert verdict is ExperimentVerdict.PASSED
    assert [outcome.passed for outcome in outcomes] == [True] * 4


def test_outcomes_follow_the_order_of_the_criteria() -> None:
    criteria = article_mve()

    _, outcomes = judge(criteria)

    assert [outcome.criterion for outcome in outcomes] == criteria


def test_one_missed_criterion_fails_the_experiment() -> None:
    criteria = [*article_mve(), Criterion("missed attacks", Comparator.AT_MOST, 0, 1)]

    verdict, outcomes = judge(criteria)

    assert verdict is ExperimentVerdict.FAILED
    assert outcomes[-1].passed is False


def test_a_missing_result_leaves_the_experiment_incomplete() -> None:
    criteria = [*article_mve(), Criterion("cache hit rate %", Comparator.AT_LEAST, 80)]

    verdict, outcomes = judge(criteria)

    assert verdict is ExperimentVerdict.INCOMPLETE
    assert outcomes[-1].passed is None


def test_a_failure_decides_even_while_results_are_missing() -> None:
    criteria = [
        Criterion("cache hit rate %", Comparator.AT_LEAST, 80),
        Criterion("p95 latency ms", Comparator.AT_MOST, 5, result=9),
    ]

    verdict, _ = judge(criteria)

    assert verdict is ExperimentVerdict.FAILED


def test_an_experiment_without_criteria_has_not_passed() -> None:
    verdict, outcomes = judge([])

    assert verdict is ExperimentVerdict.INCOMPLETE
    assert outcomes == []


def test_outcomes_summarize_what_was_wanted_and_measured() -> None:
    _, outcomes = judge(
        [
            Criterion("p95 latency ms", Comparator.AT_MOST, 5, result=9),
            Criterion("triage rate %", Comparator.AT_LEAST, 60, result=68),
            Criterion("cache hit rate %", Comparator.AT_LEAST, 80),
        ]
    )

    assert [outcome.summary for outcome in outcomes] == [
        "p95 latency ms at most 5: measured 9, failed",
        "triage rate % at least 60: measured 68, passed",
        "cache hit rate % at least 80: not measured yet",
    ]


def test_a_stored_comparator_symbol_becomes_a_comparator() -> None:
    criterion = Criterion("latency", "<=", 5, 3)  # type: ignore[arg-type]

    assert criterion.comparator is Comparator.AT_MOST


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("  ", Comparator.AT_MOST, 5.0, None), "metric"),
        (("latency", "=<", 5.0, None), "=<"),
        (("latency", Comparator.AT_MOST, math.inf, None), "threshold"),
        (("latency", Comparator.AT_MOST, 5.0, math.nan), "result"),
    ],
)
def test_impossible_criteria_are_rejected(
    arguments: tuple[str, Comparator, float, float | None], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Criterion(*arguments)


@pytest.mark.parametrize(
    "verdict", [ExperimentVerdict.FAILED, ExperimentVerdict.INCOMPLETE]
)
def test_going_ahead_without_a_passed_experiment_needs_a_written_reason(
    verdict: ExperimentVerdict,
) -> None:
    error = check_decision(Decision.GO, verdict, reason="   ")

    assert error is not None
    assert "why" in error


def test_the_error_names_what_is_wrong_with_the_experiment() -> None:
    failed = check_decision(Decision.GO, ExperimentVerdict.FAILED, "")
    incomplete = check_decision(Decision.GO, ExperimentVerdict.INCOMPLETE, "")

    assert failed is not None and "failed" in failed
    assert incomplete is not None and "missing" in incomplete


def test_a_written_reason_lets_the_team_go_ahead_anyway() -> None:
    assert (
        check_decision(
            Decision.GO,
            ExperimentVerdict.FAILED,
            "The latency criterion was set before the cache; 6 ms is acceptable.",
        )
        is None
    )


def test_a_passed_experiment_needs_no_reason_to_go() -> None:
    assert check_decision(Decision.GO, ExperimentVerdict.PASSED, "") is None


def test_stored_values_are_accepted_for_decision_and_verdict() -> None:
    assert check_decision("go", "failed", "") is not None
    assert check_decision("no_go", "failed", "") is None


criteria_lists = st.lists(
    st.builds(
        Criterion,
        metric=st.sampled_from(["latency", "recall", "alerts"]),
        comparator=st.sampled_from(list(Comparator)),
        threshold=st.floats(min_value=-100, max_value=100),
        result=st.none() | st.floats(min_value=-100, max_value=100),
    ),
    max_size=6,
)


@PROPERTY
@given(criteria=criteria_lists)
def test_the_verdict_follows_from_the_outcomes(criteria: list[Criterion]) -> None:
    verdict, outcomes = judge(criteria)
    passed = [outcome.passed for outcome in outcomes]

    assert len(outcomes) == len(criteria)
    assert (verdict is ExperimentVerdict.FAILED) == (False in passed)
    assert (verdict is ExperimentVerdict.PASSED) == (
        bool(passed) and all(value is True for value in passed)
    )
    for outcome in outcomes:
        assert (outcome.passed is None) == (outcome.criterion.result is None)


@PROPERTY
@given(criteria=criteria_lists, rng=st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_of_the_criteria(
    criteria: list[Criterion], rng: random.Random
) -> None:
    shuffled = list(criteria)
    rng.shuffle(shuffled)

    assert judge(shuffled)[0] is judge(criteria)[0]


@PROPERTY
@given(
    decision=st.sampled_from(list(Decision)),
    verdict=st.sampled_from(list(ExperimentVerdict)),
    reason=st.sampled_from(["", " ", "\n", "Criterion set too strictly."]),
)
def test_only_an_unexplained_go_without_a_pass_is_an_error(
    decision: Decision, verdict: ExperimentVerdict, reason: str
) -> None:
    error = check_decision(decision, verdict, reason)

    assert (error is not None) == (
        decision is Decision.GO
        and verdict is not ExperimentVerdict.PASSED
        and not reason.strip()
    )
