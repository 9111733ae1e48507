from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from toc.dashboard.figures import (
    DEFAULT_RANGE,
    MAX_SPAN,
    MIN_SPAN,
    RANGES,
    Window,
    custom_window,
    range_window,
)

# What a datetime-local input sends (seconds when a zoom wrote the link).
TIME_INPUT = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S"
)


class WindowForm(forms.Form):
    """A range of one's own for the charts, ``from`` and ``to`` in UTC. Python
    cannot name a field ``from``, so the fields are added here."""

    def __init__(self, query: QueryDict) -> None:
        # Bound only when the query names either end: otherwise the page shows
        # one of RANGES (``range``, the page's tabs) and the form waits, empty.
        self.range_key = query.get("range")
        custom = bool(query.get("from") or query.get("to"))
        super().__init__(query if custom else None)
        self.fields["from"] = forms.DateTimeField(
            label="From (UTC)",
            widget=TIME_INPUT,
            error_messages={
                "required": "Give the start of the range too.",
                "invalid": "Enter a date and time, such as 2026-12-06 14:30.",
            },
        )
        self.fields["to"] = forms.DateTimeField(
            label="To (UTC)",
            widget=TIME_INPUT,
            error_messages={
                "required": "Give the end of the range too.",
                "invalid": "Enter a date and time, such as 2026-12-06 14:30.",
            },
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("from"), data.get("to")
        if start is None or end is None:
            return data
        if end <= start:
            self.add_error("to", "Choose an end after the start.")
        elif end - start < MIN_SPAN:
            self.add_error("to", "Choose a range of at least a minute.")
        elif end - start > MAX_SPAN:
            self.add_error("from", f"Choose a range of at most {MAX_SPAN.days} days.")
        return data

    def window(self, ledger: dict) -> Window:
        """The window asked for; the range's (or the default) while the custom
        range has errors, which the form shows."""
        if self.is_valid():
            return custom_window(self.cleaned_data["from"], self.cleaned_data["to"])
        key = self.range_key if self.range_key in RANGES else DEFAULT_RANGE
        return range_window(key, ledger)
