from __future__ import annotations

import pytest

from toc.formats import compact


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
    ],
)
def test_compact_keeps_three_significant_digits_and_a_suffix(value, shown):
    assert compact(value) == shown
