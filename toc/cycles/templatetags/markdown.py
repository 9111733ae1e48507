"""Filters for the Markdown export (templates/cycles/export.md): user text that
cannot break the document, and the export's number and time formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django import template

from toc.lib.formats import number

register = template.Library()

# Lines starting like this would turn into headings, quotes, lists, rules or code.
BLOCK_START = re.compile(r"^(\s*)(#|>|[-+*=_]|`{3}|~{3}|\d+[.)])")


def _escaped(text: Any) -> str:
    """No raw HTML, and backslashes kept as typed."""
    return str(text).replace("\\", "\\\\").replace("<", "\\<")


@register.filter
def md_inline(text: Any) -> str:
    """One line of user text: no raw HTML, no line breaks."""
    return " ".join(_escaped(text).split())


@register.filter
def md_lead(text: Any) -> str:
    """User text that starts a line or a list item."""
    return BLOCK_START.sub(r"\1\\\2", md_inline(text))


@register.filter
def md_cell(value: Any) -> str:
    """A table cell: one line, its pipes escaped; "—" when empty."""
    text = md_inline(value) if value not in (None, "") else "—"
    return text.replace("|", "\\|")


@register.filter
def md_paragraph(text: Any) -> str:
    """User text kept as written, without any line starting a Markdown block."""
    lines = _escaped(text).splitlines()
    return "\n".join(BLOCK_START.sub(r"\1\\\2", line) for line in lines)


@register.filter
def md_number(value: float | None) -> str:
    return number(value)


@register.filter
def md_share(value: float | None) -> str:
    return "—" if value is None else f"{number(value * 100)}%"


@register.filter
def md_when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"
