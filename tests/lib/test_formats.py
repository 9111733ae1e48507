from __future__ import annotations

import math

import pytest

from toc.lib.formats import compact, json_number, latency, per_hour, rate


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
        (0, "0.0"),
        (0.25, "0.2"),
        (95.1, "95.1"),
        (28_650.4, "28,650"),
        # Two analysts get through 0.00074 alerts a second.
        (2 * 1.33 / 3600, "0.00074"),
        (0.05, "0.05"),
    ],
)
def test_rate_keeps_small_rates_readable(value, shown) -> None:
    assert rate(value) == shown


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "—"),
        (40.0, "40.0 ms"),
        (9_999.0, "9,999 ms"),
        (90_000.0, "90 s"),
        (82_184_700.0, "22.8 h"),
    ],
)
def test_latency_reads_in_the_unit_that_fits(ms, shown) -> None:
    assert latency(ms) == shown


def test_a_pace_per_second_reads_per_hour() -> None:
    # Two analysts at 1.33 investigations an hour each.
    assert per_hour(2 * 1.33 / 3600) == "2.7/h"
    assert per_hour(None) == "—"
