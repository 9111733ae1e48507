"""How numbers read on pages, in charts and in JSON: shares as percentages,
rates with separators, factors as "2.50×", no infinities in JSON. Plain
functions, so figures, templates and the API agree."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

DASH = "—"


def json_number(value: float | None) -> float | None:
    """The value, or None where JSON has no number for it (infinity, NaN): an
    idle stage's unbounded headroom, a ceiling nothing limits."""
    return value if value is not None and math.isfinite(value) else None


def significant(value: float | None, digits: int = 3) -> str:
    """The value to ``digits`` significant digits, written out in full: 34.7,
    12,300, 0.0000571, never 5.71e-05 and never a trailing zero. Charts use the
    same format through d3's ``,.3~r`` (``toc.charts.theme.SIGNIFICANT``)."""
    if value is None or not math.isfinite(value):
        return DASH
    rounded = Decimal(f"{value:.{digits}g}")
    if rounded == 0:
        return "0"
    return _trimmed(f"{rounded:,f}")


def _trimmed(shown: str) -> str:
    """A written-out number without the zeros after its point that say nothing."""
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def percent(share: float | None) -> str:
    return DASH if share is None else f"{share * 100:.0f}%"


def rate(value: float | None) -> str:
    if value is None:
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.1:
        # 50, not 50.0, beside the counts in the same table.
        return _trimmed(f"{value:,.1f}")
    # Stages of people work a few thousandths of an item a second: two
    # significant digits keep them from reading 0.0.
    return significant(value, 2)


def times(factor: float | None) -> str:
    return "∞" if factor is None else f"{factor:.2f}×"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 1:
        return "< 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{_trimmed(f'{seconds / 3600:.1f}')} h"


# The units a length of time reads in, largest first, and their size in seconds.
ELAPSED_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def elapsed(seconds: float) -> str:
    """A length of time in the largest unit it fills and the next one, whole:
    45 s, 30 min, 6 min 40 s, 2 h 5 min, 1 d 3 h; the next unit only when it is
    not zero. Rounded to that next unit, so 2 h 5 min 40 s reads 2 h 6 min."""
    whole = round(seconds)
    index = next(
        (i for i, (_, size) in enumerate(ELAPSED_UNITS) if whole >= size),
        len(ELAPSED_UNITS) - 1,
    )
    unit, size = ELAPSED_UNITS[index]
    if index + 1 == len(ELAPSED_UNITS):
        return f"{whole} {unit}"
    next_unit, next_size = ELAPSED_UNITS[index + 1]
    rounded = round(whole / next_size) * next_size
    if index > 0 and rounded >= ELAPSED_UNITS[index - 1][1]:
        # 23 h 59 min 40 s rounds up to a whole day.
        return elapsed(rounded)
    first, rest = divmod(rounded, size)
    return f"{first} {unit}" + (f" {rest // next_size} {next_unit}" if rest else "")


def signed_rate(value: float | None) -> str:
    if value is None:
        return DASH
    shown = _trimmed(f"{value:+,.1f}")
    return f"{'0' if shown in ('+0', '-0') else shown}/s"


def words(value: str | None) -> str:
    """`falling_behind` → `falling behind`."""
    return DASH if not value else str(value).replace("_", " ")


def count(value: float | None) -> str:
    """A count, whole as it is or as JSON brought it (60.0 reads 60)."""
    if value is None:
        return DASH
    return f"{int(value):,}" if float(value).is_integer() else number(value)


def number(value: float | None) -> str:
    """A measured or typed value without trailing zeros: 12.5, 47, 0.001."""
    return significant(value, 6)


def unit_suffix(unit: str) -> str:
    """A unit as it follows its number: "47 min", but "90%" and "10/day"."""
    unit = unit.strip()
    if not unit:
        return ""
    return unit if unit.startswith(("%", "/", "×")) else f" {unit}"


def compact(value: float | None) -> str:
    """Three significant digits and a suffix, for labels with little room: 60.2k."""
    if value is None:
        return DASH
    # Rounded first, so that 999.96 reads 1k rather than 1e+03.
    rounded = float(f"{value:.3g}")
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rounded) >= threshold:
            return f"{rounded / threshold:g}{suffix}"
    return f"{rounded:g}"


def moment(iso: str | None) -> str:
    """An ISO 8601 time from a stored payload, to the minute in UTC."""
    if not iso:
        return DASH
    return f"{datetime.fromisoformat(iso).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


# The units a latency reads in and their size in milliseconds: a model takes
# milliseconds over an item, a stage of people hours.
LATENCY_UNITS = (("ms", 1.0), ("s", 1_000.0), ("min", 60_000.0), ("h", 3_600_000.0))


def latency_unit(ms: float) -> tuple[str, float]:
    """The largest unit that ``ms`` (as rounded for reading) fills at least once,
    so 999.7 ms reads 1 s rather than 1,000 ms."""
    rounded = float(f"{abs(ms):.3g}")
    fitting = [unit for unit in LATENCY_UNITS if unit[1] <= rounded]
    return fitting[-1] if fitting else LATENCY_UNITS[0]


def latency(ms: float | None) -> str:
    """One unit, three significant digits: 40 ms, 34.7 s, 22.8 h."""
    if ms is None or not math.isfinite(ms):
        return DASH
    unit, size = latency_unit(ms)
    # From the rounded value, so that 59,960 ms reads 1 min, not 0.999 min.
    return f"{significant(float(f'{ms:.3g}') / size)} {unit}"


def per_hour(per_second: float | None) -> str:
    """A rate counted per second, read per hour (a stage of people's pace)."""
    return DASH if per_second is None else f"{rate(per_second * 3600)}/h"


def nines(share: float | None) -> str:
    """A share near 100% as SLOs are written: 99%, 99.9%, 99.95%; two decimals
    unless more are needed to keep a share short of 1 from reading 100%."""
    if share is None or not math.isfinite(share):
        return DASH
    for decimals in range(2, 7):
        shown = _trimmed(f"{share * 100:.{decimals}f}")
        if share >= 1 or shown != "100":
            return f"{shown}%"
    return f"{shown}%"


def compliance(share: float | None, objective: float | None) -> str:
    """A live SLO's compliance against its objective: "99.23% against 99%"."""
    if share is None:
        return "no data yet"
    return f"{nines(share)} against an objective of {nines(objective)}"


def budget_left(remaining: float | None) -> str:
    """The error budget left, in words: a share of it while some is left, and
    once spent, how much of it the window has used (past 100% when overspent)."""
    return _budget_words(remaining, "error budget")


def budget_short(remaining: float | None) -> str:
    """budget_left where room is short: "62% of the budget left"."""
    return _budget_words(remaining, "budget")


def _budget_words(remaining: float | None, noun: str) -> str:
    if remaining is None or not math.isfinite(remaining):
        return "no data yet"
    if remaining <= 0:
        return f"{noun} spent, {percent(1 - remaining)} used"
    if remaining < 0.005:
        return f"under 1% of the {noun} left"
    return f"{percent(remaining)} of the {noun} left"
