from __future__ import annotations

import math

import pytest

from toc.lib.formats import budget_left, budget_short, compliance, nines


@pytest.mark.parametrize(
    ("remaining", "words"),
    [
        (1.0, "100% of the error budget left"),
        (0.62, "62% of the error budget left"),
        (0.004, "under 1% of the error budget left"),
        (0.0, "error budget spent, 100% used"),
        (-0.2, "error budget spent, 120% used"),
        (-3.0, "error budget spent, 400% used"),
        (None, "no data yet"),
        (math.nan, "no data yet"),
    ],
)
def test_the_budget_left_reads_in_words(remaining, words):
    assert budget_left(remaining) == words


@pytest.mark.parametrize(
    ("share", "shown"),
    [
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.99234, "99.23%"),
        (0.9999, "99.99%"),
        # Short of 1 never reads 100%.
        (0.99999, "99.999%"),
        (0.999996, "99.9996%"),
        (1.0, "100%"),
        (0.5, "50%"),
        (None, "—"),
    ],
)
def test_a_share_near_one_keeps_its_nines(share, shown):
    assert nines(share) == shown


def test_compliance_reads_against_the_objective():
    assert compliance(0.9923, 0.99) == "99.23% against an objective of 99%"
    assert compliance(None, 0.99) == "no data yet"


def test_the_short_words_name_the_budget_alone():
    assert budget_short(0.62) == "62% of the budget left"
    assert budget_short(-0.2) == "budget spent, 120% used"
