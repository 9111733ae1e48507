"""How numbers read on pages, in charts and in JSON: shares as percentages,
rates with separators, factors as "2.50×", no infinities in JSON. Plain
functions, so figures, templates and the API agree."""

from __future__ import annotations

import math
from datetime import UTC, datetime

DASH = "—"


def json_number(value: float | None) -> float | None:
    """The value, or None where JSON has no number for it (infinity, NaN): an
    idle stage's unbounded headroom, a ceiling nothing limits."""
    return value if value is not None and math.isfinite(value) else None


def percent(share: float | None) -> str:
    return DASH if share is None else f"{share * 100:.0f}%"


def rate(value: float | None) -> str:
    if value is None:
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.1:
        return f"{value:,.1f}"
    # Stages of people work a few thousandths of an item a second: two
    # significant digits keep them from reading 0.0.
    return f"{value:.2g}"


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
    return f"{seconds / 3600:.1f} h"


def signed_rate(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:+,.1f}/s"


def words(value: str | None) -> str:
    """`falling_behind` → `falling behind`."""
    return DASH if not value else str(value).replace("_", " ")


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def number(value: float | None) -> str:
    """A measured or typed value without trailing zeros: 12.5, 47, 0.001."""
    return DASH if value is None else f"{value:,.6g}"


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


def latency(ms: float | None) -> str:
    """Milliseconds while they read well, then seconds, minutes or hours: a stage
    of people takes hours over an item."""
    if ms is None:
        return DASH
    return f"{rate(ms)} ms" if ms < 10_000 else duration(ms / 1000)


def per_hour(per_second: float | None) -> str:
    """A rate counted per second, read per hour (a stage of people's pace)."""
    return DASH if per_second is None else f"{rate(per_second * 3600)}/h"
