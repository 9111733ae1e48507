from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from toc.analysis import describe_change, improved

from .builders import PROPERTY

values = st.one_of(
    st.sampled_from([0.0, 1.0, 100.0]),
    st.floats(min_value=-1e6, max_value=1e6),
)
units = st.sampled_from(["", "min", "ms", "%", "pp", "records", "hours"])


@pytest.mark.parametrize(
    ("metric", "before", "after", "lower_is_better", "unit", "expected"),
    [
        ("detection time p95", 47, 3.2, True, "min", "15× faster"),
        ("daily analyst alerts", 847, 11, True, "", "−98.7%"),
        ("incidents missed per month", 23, 0, True, "", "−100%"),
        ("traffic coverage", 30, 98, False, "%", "+68 pp"),
        ("Feature-Tier2 utilization", 95, 42, True, "%", "−53 pp"),
    ],
)
def test_the_articles_outcome_table_reads_as_the_team_reads_it(
    metric: str,
    before: float,
    after: float,
    lower_is_better: bool,
    unit: str,
    expected: str,
) -> None:
    assert describe_change(before, after, lower_is_better, unit) == expected
    assert improved(before, after, lower_is_better) is True, metric


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (3, 2, "1.5× faster"),
        (10, 2, "5× faster"),
        (21, 10, "2.1× faster"),
        (47, 3.2, "15× faster"),
        (480, 3.2, "150× faster"),
        (9.96, 1, "10× faster"),
        (12_345, 1, "12,000× faster"),
    ],
)
def test_speedups_have_two_significant_figures(
    before: float, after: float, expected: str
) -> None:
    assert describe_change(before, after, lower_is_better=True, unit="s") == expected


@pytest.mark.parametrize(
    "unit", ["ms", "s", "min", "h", "minutes", "seconds", "hours", "days", "Hours"]
)
def test_every_time_unit_reads_as_a_speedup(unit: str) -> None:
    assert describe_change(10, 2, lower_is_better=True, unit=unit) == "5× faster"


def test_a_speedup_too_small_to_show_falls_back_to_the_percentage() -> None:
    # 100 / 99.9 is "1×", which would read as no change at all.
    assert describe_change(100, 99.9, lower_is_better=True, unit="ms") == "−0.1%"


def test_a_slower_time_is_a_relative_increase() -> None:
    assert describe_change(100, 250, lower_is_better=True, unit="ms") == "+150%"


def test_a_time_where_higher_is_better_is_not_called_faster() -> None:
    assert describe_change(10, 5, lower_is_better=False, unit="hours") == "−50%"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (8, 9, "+12.5%"),
        (100, 300, "+200%"),
        (100, 97, "−3%"),
        (1_000, 13_500, "+1,250%"),
        (3, 10, "+233%"),
        (3_000, 3_001, "+0.0333%"),
    ],
)
def test_counts_change_relatively_to_three_significant_figures(
    before: float, after: float, expected: str
) -> None:
    assert describe_change(before, after, lower_is_better=False) == expected


def test_negative_changes_use_the_minus_sign_not_a_hyphen() -> None:
    text = describe_change(10, 5, lower_is_better=True)

    assert text.startswith("\N{MINUS SIGN}")
    assert "-" not in text


def test_equal_values_are_no_change() -> None:
    assert describe_change(42, 42, lower_is_better=True, unit="min") == "no change"
    assert describe_change(0, 0, lower_is_better=True) == "no change"
    assert improved(42, 42, lower_is_better=True) is None


def test_from_zero_the_change_is_absolute() -> None:
    assert describe_change(0, 11, lower_is_better=True) == "+11"
    assert describe_change(0, 2.4, lower_is_better=True, unit="alerts") == "+2.4 alerts"
    assert describe_change(0, -3, lower_is_better=True) == "−3"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [(-3, 5, "+8 records/s"), (4, -10, "−14 records/s"), (-3, -1, "+2 records/s")],
)
def test_a_signed_value_at_or_below_zero_changes_by_its_difference(
    before: float, after: float, expected: str
) -> None:
    # A queue trend from -3 to +5 records/s is not "+267%".
    assert describe_change(before, after, lower_is_better=True, unit="records/s") == (
        expected
    )


def test_a_positive_value_falling_to_zero_is_still_a_relative_cut() -> None:
    assert describe_change(14_400, 0, lower_is_better=True) == "−100%"


def test_point_changes_keep_a_decimal_only_when_there_is_one() -> None:
    assert describe_change(30.5, 98, lower_is_better=False, unit="pp") == "+67.5 pp"
    assert describe_change(30, 98, lower_is_better=False, unit="pp") == "+68 pp"


def test_a_tiny_change_is_not_shown_as_zero() -> None:
    assert describe_change(1_000_000, 1_000_001, lower_is_better=True) == "+0.0001%"
    assert describe_change(50, 50.01, lower_is_better=True, unit="%") == "+0.01 pp"


def test_a_near_total_cut_is_not_shown_as_eliminated() -> None:
    assert describe_change(2_500, 1, lower_is_better=True) == "−99.9%"


@pytest.mark.parametrize(
    ("before", "after", "unit", "expected"),
    [
        (math.inf, 120, "s", "∞× faster"),
        (120, math.inf, "s", "+∞%"),
        (0, math.inf, "ms", "+∞ ms"),
        (math.inf, 5, "", "−100%"),
        (-math.inf, math.inf, "", "+∞"),
        (50, math.inf, "%", "+∞ pp"),
        (math.inf, math.inf, "s", "no change"),
    ],
)
def test_infinite_values_give_an_unbounded_change(
    before: float, after: float, unit: str, expected: str
) -> None:
    assert describe_change(before, after, lower_is_better=True, unit=unit) == expected


def test_not_a_number_is_rejected() -> None:
    with pytest.raises(ValueError, match="before"):
        describe_change(math.nan, 1, lower_is_better=True)
    with pytest.raises(ValueError, match="after"):
        improved(1, math.nan, lower_is_better=True)


def test_improvement_follows_the_better_direction() -> None:
    assert improved(10, 5, lower_is_better=True) is True
    assert improved(10, 5, lower_is_better=False) is False
    assert improved(5, 10, lower_is_better=False) is True


@PROPERTY
@given(before=values, after=values, lower_is_better=st.booleans(), unit=units)
def test_the_wording_points_the_way_the_value_moved(
    before: float, after: float, lower_is_better: bool, unit: str
) -> None:
    text = describe_change(before, after, lower_is_better, unit)

    if after == before:
        assert text == "no change"
    elif text.endswith("× faster"):
        assert lower_is_better and after < before
    else:
        assert text[0] == ("+" if after > before else "\N{MINUS SIGN}")
        assert not re.fullmatch(r"0(\.0+)?\D*", text[1:]), text


@PROPERTY
@given(
    before=st.floats(min_value=1e-3, max_value=1e6),
    after=st.floats(min_value=1e-3, max_value=1e6),
)
def test_a_speedup_is_the_ratio_to_two_significant_figures(
    before: float, after: float
) -> None:
    text = describe_change(before, after, lower_is_better=True, unit="ms")
    assume(text.endswith("× faster"))

    shown = float(text.removesuffix("× faster").replace(",", ""))
    assert shown == pytest.approx(before / after, rel=0.05)


@PROPERTY
@given(before=values, after=values, lower_is_better=st.booleans())
def test_swapping_the_better_direction_flips_the_improvement(
    before: float, after: float, lower_is_better: bool
) -> None:
    assume(before != after)

    assert improved(before, after, lower_is_better) is not improved(
        before, after, not lower_is_better
    )
    assert improved(before, after, lower_is_better) is not improved(
        after, before, lower_is_better
    )


@PROPERTY
@given(before=values, after=values, lower_is_better=st.booleans(), unit=units)
def test_no_wording_ends_a_number_with_a_needless_zero(
    before: float, after: float, lower_is_better: bool, unit: str
) -> None:
    text = describe_change(before, after, lower_is_better, unit)

    assert not re.search(r"\.\d*0(?!\d)", text), text


@PROPERTY
@given(
    before=st.floats(min_value=1e-3, max_value=1e6),
    after=st.floats(min_value=0, max_value=1e6),
)
def test_a_relative_change_has_three_significant_figures(
    before: float, after: float
) -> None:
    text = describe_change(before, after, lower_is_better=False)
    assume(text.endswith("%") and "∞" not in text)

    digits = text[1:-1].replace(",", "").replace(".", "").strip("0")
    assert len(digits) <= 3, text
    shown = float(text[1:-1].replace(",", ""))
    change = abs(after - before) / before * 100
    assert shown == pytest.approx(change, rel=5e-3, abs=0.1 if shown == 99.9 else 0)
