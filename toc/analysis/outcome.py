"""Before/after changes worded the way a team reads them: "15× faster", "-98.7%".

Rules, first match wins:

- equal values: "no change";
- unit "%" or "pp" (values already in percent): the difference in percentage points,
  "+68 pp", because a relative change of a percentage ("+227%") misleads;
- a time-like unit where lower is better and the time went down: before / after to
  two significant figures, "15× faster", "1.5× faster", unless that rounds to 1;
- before at or below zero, or after below it (a relative change is undefined or
  meaningless, as for a queue trend going from -3 to +5 records/s): the absolute
  difference, "+11", "+8 records/s";
- else the relative change (after - before) / |before| to three significant
  figures, as numbers read everywhere in toc (toc.lib.formats): "-98.7%", "+200%",
  "+12.5%", "+1,250%".

Points and absolute differences have at most one decimal ("+68 pp", "+2.5 pp").
A nonzero change too small for that keeps its first significant figures instead of
reading as "+0%", and a cut that is not total never reads as "-100%". Negative
changes carry the minus sign U+2212 (written "-" here), not a hyphen. Infinite
values give "∞".
"""

from __future__ import annotations

import math

from toc.lib.formats import significant

MINUS = "\N{MINUS SIGN}"
INFINITY = "\N{INFINITY}"

POINT_UNITS = frozenset({"%", "pp"})
TIME_UNITS = frozenset(
    {
        "us",
        "\N{MICRO SIGN}s",
        "ms",
        "s",
        "sec",
        "min",
        "h",
        "hr",
        "d",
        "milliseconds",
        "seconds",
        "minutes",
        "hours",
        "days",
    }
)


def describe_change(
    before: float, after: float, lower_is_better: bool, unit: str = ""
) -> str:
    _require_number("before", before)
    _require_number("after", after)
    if after == before:
        return "no change"
    unit = unit.strip()
    if unit in POINT_UNITS:
        return f"{_signed(after - before)} pp"
    if _is_time(unit) and lower_is_better and 0 < after < before:
        times = _two_significant(before / after)
        # "1× faster" would read as no change; the percentage says more.
        if times != "1":
            return f"{times}× faster"
    if before <= 0 or after < 0:
        return _signed(after - before) + (f" {unit}" if unit else "")
    return _signed_percent(_relative_change(before, after))


def improved(before: float, after: float, lower_is_better: bool) -> bool | None:
    """Whether the metric moved the right way; None when it did not move."""
    _require_number("before", before)
    _require_number("after", after)
    if after == before:
        return None
    return (after < before) == lower_is_better


def _require_number(name: str, value: float) -> None:
    # Infinity is a legitimate reading (a queue that never drains); NaN is not.
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")


def _is_time(unit: str) -> bool:
    return unit.lower() in TIME_UNITS


def _relative_change(before: float, after: float) -> float:
    if math.isinf(before):
        if math.isinf(after):
            return math.copysign(math.inf, after - before)
        # The limit of (after - before) / |before| as before grows without bound.
        return -math.copysign(1.0, before)
    return (after - before) / abs(before)


def _sign(value: float) -> str:
    return "+" if value > 0 else MINUS


def _signed(value: float) -> str:
    magnitude = abs(value)
    if math.isinf(magnitude):
        return _sign(value) + INFINITY
    text = f"{magnitude:,.1f}".removesuffix(".0")
    if text == "0":
        text = significant(magnitude, 2)
    return _sign(value) + text


def _signed_percent(share: float) -> str:
    magnitude = abs(share) * 100
    if math.isinf(magnitude):
        return f"{_sign(share)}{INFINITY}%"
    text = significant(magnitude)
    if text == "100" and magnitude < 100:
        # Minus 100% means eliminated; 2,500 → 1 is not.
        text = "99.9"
    return f"{_sign(share)}{text}%"


def _two_significant(ratio: float) -> str:
    return INFINITY if math.isinf(ratio) else significant(ratio, 2)
