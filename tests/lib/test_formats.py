from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.lib.formats import (
    LATENCY_UNITS,
    compact,
    count,
    json_number,
    latency,
    number,
    per_hour,
    rate,
    signed_rate,
    significant,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (0, "0"),
        (99.4, "99.4"),
        (2003, "2k"),
        (60_166, "60.2k"),
        (100_000, "100k"),
        (1_043_740, "1.04M"),
        (-1500, "-1.5k"),
        (3.2e9, "3.2G"),
        (999.96, "1k"),
    ],
)
def test_compact_keeps_three_significant_digits_and_a_suffix(value, shown):
    assert compact(value) == shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        (0.0, 0.0),
        (-2.0, -2.0),
        (None, None),
        (math.inf, None),
        (-math.inf, None),
        (math.nan, None),
    ],
)
def test_json_number_has_no_infinity_or_nan(value, expected) -> None:
    assert json_number(value) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (0, "0"),
        (50.0, "50"),
        (12.04, "12"),
        (0.25, "0.2"),
        (95.1, "95.1"),
        (28_650.4, "28,650"),
        # Two analysts get through 0.00074 alerts a second.
        (2 * 1.33 / 3600, "0.00074"),
        (0.05, "0.05"),
        (1e-7, "0.0000001"),
    ],
)
def test_rate_keeps_small_rates_readable(value, shown) -> None:
    assert rate(value) == shown


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "—"),
        (40.0, "40 ms"),
        (2.0, "2 ms"),
        (999.4, "999 ms"),
        (999.6, "1 s"),
        (9_999.0, "10 s"),
        (34_735.0, "34.7 s"),
        (59_960.0, "1 min"),
        (90_000.0, "1.5 min"),
        (82_184_700.0, "22.8 h"),
    ],
)
def test_latency_reads_in_the_unit_that_fits(ms, shown) -> None:
    assert latency(ms) == shown


def test_a_pace_per_second_reads_per_hour() -> None:
    # Two analysts at 1.33 investigations an hour each.
    assert per_hour(2 * 1.33 / 3600) == "2.7/h"
    assert per_hour(None) == "—"


SIZES = dict(LATENCY_UNITS)
# Milliseconds from a microsecond to a thousand hours.
latencies = st.floats(min_value=0.001, max_value=3.6e9, allow_nan=False)


def _significant_digits(shown: str) -> int:
    digits = shown.replace(",", "")
    if "." in digits:
        return len(digits.replace(".", "").lstrip("0"))
    return len(digits.lstrip("0").rstrip("0"))


@given(latencies)
def test_a_latency_reads_in_one_unit_with_three_significant_digits_at_most(ms):
    shown = latency(ms)
    match = re.fullmatch(r"([0-9][0-9,]*(?:\.[0-9]+)?) (ms|s|min|h)", shown)
    assert match, shown
    value, unit = match.groups()
    assert _significant_digits(value) <= 3, shown
    # The unit is the largest the value fills, and the reading is the value
    # within the rounding of three digits (twice: to the unit, then in it).
    assert float(value.replace(",", "")) >= 1 or unit == "ms", shown
    assert float(value.replace(",", "")) * SIZES[unit] == pytest.approx(ms, rel=0.01), (
        shown
    )


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_integers_never_gain_a_point(value):
    for format_ in (count, number, rate, significant):
        assert "." not in format_(value), format_.__name__
        assert "." not in format_(float(value)), format_.__name__
    assert "." not in signed_rate(float(value))


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_numbers_are_written_out_without_exponent_or_trailing_zeros(value):
    for format_ in (number, rate, significant):
        shown = format_(value)
        assert "e" not in shown, shown
        assert not re.search(r"\.[0-9]*0$", shown), shown
    assert float(number(value).replace(",", "")) == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (5.714285e-05, "0.0000571"),
        (12_345.0, "12,300"),
        (0.5, "0.5"),
        (-0.0, "0"),
    ],
)
def test_significant_keeps_three_digits_written_out(value, shown):
    assert significant(value) == shown
