from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import ChainFinding, ChainWarning, RootCause, Why, review_chain

from .builders import PROPERTY


def article_chain() -> list[Why]:
    """The article's chain for Feature-Tier2; the fifth why was never validated."""
    return [
        Why(
            "It computes 47 features per record.",
            "Profiling: 89% of the compute goes to 12% of the features.",
            validated=True,
        ),
        Why(
            "The features were designed for offline research with unlimited compute.",
            "31 features contribute under 0.1% to decisions.",
            validated=True,
        ),
        Why(
            "Development was disconnected from deployment.",
            "Git history shows features added and never removed.",
            validated=True,
        ),
        Why(
            "The ML and platform teams work in silos.",
            "Interviews: no shared requirements.",
            validated=True,
        ),
        Why("Nobody owns end-to-end system performance.", "", validated=False),
    ]


def codes(findings: list[ChainFinding]) -> list[tuple[ChainWarning, int | None]]:
    return [(finding.code, finding.index) for finding in findings]


def test_the_articles_chain_only_lacks_evidence_for_its_last_why() -> None:
    findings = review_chain(article_chain(), RootCause.ORGANIZATIONAL, gap_share=0.7)

    assert codes(findings) == [
        (ChainWarning.MISSING_EVIDENCE, 4),
        (ChainWarning.UNVALIDATED, 4),
    ]
    assert findings[0].message.startswith("Why 5: ")


def test_a_complete_validated_chain_to_an_organizational_cause_is_trusted() -> None:
    whys = [Why(f"answer {n}", f"evidence {n}", validated=True) for n in range(3)]

    assert review_chain(whys, RootCause.ORGANIZATIONAL, gap_share=0.5) == []


@pytest.mark.parametrize(
    "root_cause",
    [
        RootCause.FEATURE_EXPLOSION,
        RootCause.MULTI_GRANULARITY,
        RootCause.STALE_REFERENCE_DATA,
        RootCause.OTHER,
    ],
)
def test_stopping_at_a_technical_cause_asks_for_one_more_why(
    root_cause: RootCause,
) -> None:
    whys = article_chain()[:4]

    findings = review_chain(whys, root_cause, gap_share=0.7)

    assert codes(findings) == [(ChainWarning.STOPS_AT_TECHNICAL, None)]
    assert "organizational" in findings[0].message


def test_a_chain_without_a_category_yet_is_not_called_technical() -> None:
    findings = review_chain(article_chain()[:4], None, gap_share=0.7)

    assert findings == []


def test_two_whys_are_too_few() -> None:
    findings = review_chain(article_chain()[:2], RootCause.ORGANIZATIONAL, 0.7)

    assert codes(findings) == [(ChainWarning.TOO_SHORT, None)]


def test_an_empty_chain_is_too_short() -> None:
    assert codes(review_chain([], RootCause.ORGANIZATIONAL, 0.7)) == [
        (ChainWarning.TOO_SHORT, None)
    ]


def test_a_problem_explaining_under_half_the_gap_is_not_the_problem() -> None:
    findings = review_chain(article_chain()[:4], RootCause.ORGANIZATIONAL, 0.49)

    assert codes(findings) == [(ChainWarning.EXPLAINS_TOO_LITTLE, None)]


def test_an_unestimated_gap_share_is_flagged() -> None:
    findings = review_chain(article_chain()[:4], RootCause.ORGANIZATIONAL, None)

    assert codes(findings) == [(ChainWarning.GAP_UNKNOWN, None)]


def test_findings_come_per_why_in_chain_order_then_for_the_chain() -> None:
    whys = [
        Why("a", "", validated=True),
        Why("b", "some evidence", validated=False),
    ]

    findings = review_chain(whys, RootCause.FEATURE_EXPLOSION, gap_share=None)

    assert codes(findings) == [
        (ChainWarning.MISSING_EVIDENCE, 0),
        (ChainWarning.UNVALIDATED, 1),
        (ChainWarning.STOPS_AT_TECHNICAL, None),
        (ChainWarning.TOO_SHORT, None),
        (ChainWarning.GAP_UNKNOWN, None),
    ]


def test_blank_evidence_counts_as_missing() -> None:
    whys = [Why(f"answer {n}", "  \n", validated=True) for n in range(3)]

    findings = review_chain(whys, RootCause.ORGANIZATIONAL, 0.9)

    assert codes(findings) == [(ChainWarning.MISSING_EVIDENCE, n) for n in range(3)]


def test_a_why_needs_an_answer() -> None:
    with pytest.raises(ValueError, match="answer"):
        Why("   ", "evidence", validated=True)


@pytest.mark.parametrize("gap_share", [-0.1, 1.1, math.nan, math.inf])
def test_a_gap_share_outside_zero_to_one_is_rejected(gap_share: float) -> None:
    with pytest.raises(ValueError, match="gap_share"):
        review_chain(article_chain(), RootCause.ORGANIZATIONAL, gap_share)


def test_every_code_and_root_cause_explains_itself_in_words() -> None:
    for code in ChainWarning:
        assert code.message.endswith(".")
    for cause in RootCause:
        assert cause.description.endswith(".")
    assert str(ChainWarning.STOPS_AT_TECHNICAL) == "stops_at_technical"
    assert str(RootCause.STALE_REFERENCE_DATA) == "stale_reference_data"


whys = st.builds(
    Why,
    answer=st.just("because"),
    evidence=st.sampled_from(["", " ", "a profile"]),
    validated=st.booleans(),
)


@PROPERTY
@given(
    chain=st.lists(whys, max_size=7),
    root_cause=st.none() | st.sampled_from(list(RootCause)),
    gap_share=st.none() | st.floats(min_value=0, max_value=1),
)
def test_findings_point_at_real_whys_and_come_in_a_stable_order(
    chain: list[Why], root_cause: RootCause | None, gap_share: float | None
) -> None:
    findings = review_chain(chain, root_cause, gap_share)
    order = list(ChainWarning)

    per_why = [finding for finding in findings if finding.index is not None]
    whole = [finding for finding in findings if finding.index is None]
    assert findings == per_why + whole
    assert [(f.index, order.index(f.code)) for f in per_why] == sorted(
        (f.index, order.index(f.code)) for f in per_why
    )
    assert [order.index(f.code) for f in whole] == sorted(
        order.index(f.code) for f in whole
    )
    for finding in per_why:
        why = chain[finding.index]
        if finding.code is ChainWarning.MISSING_EVIDENCE:
            assert not why.evidence.strip()
        else:
            assert finding.code is ChainWarning.UNVALIDATED
            assert not why.validated
    assert review_chain(chain, root_cause, gap_share) == findings


@PROPERTY
@given(
    chain=st.lists(whys, max_size=7),
    root_cause=st.none() | st.sampled_from(list(RootCause)),
    gap_share=st.none() | st.floats(min_value=0, max_value=1),
)
def test_exactly_one_gap_finding_unless_the_problem_explains_half(
    chain: list[Why], root_cause: RootCause | None, gap_share: float | None
) -> None:
    gap_codes = {ChainWarning.GAP_UNKNOWN, ChainWarning.EXPLAINS_TOO_LITTLE}

    found = [
        finding
        for finding in review_chain(chain, root_cause, gap_share)
        if finding.code in gap_codes
    ]

    expected = 0 if gap_share is not None and gap_share >= 0.5 else 1
    assert len(found) == expected
