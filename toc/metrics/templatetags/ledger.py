"""Number formats for the ledger: shares as percentages, rates with separators."""

from __future__ import annotations

from django import template

register = template.Library()
DASH = "—"


@register.filter
def percent(share: float | None) -> str:
    return DASH if share is None else f"{share * 100:.0f}%"


@register.filter
def rate(value: float | None) -> str:
    if value is None:
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


@register.filter
def times(factor: float | None) -> str:
    return "∞" if factor is None else f"{factor:.2f}×"


@register.filter
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


@register.filter
def signed_rate(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:+,.1f}/s"


@register.filter
def words(value: str | None) -> str:
    """`falling_behind` → `falling behind`."""
    return DASH if not value else str(value).replace("_", " ")


@register.filter
def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


@register.filter
def number(value: float | None) -> str:
    """A measured or typed value without trailing zeros: 12.5, 47, 0.001."""
    return DASH if value is None else f"{value:,.6g}"
