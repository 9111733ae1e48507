"""The forms that read a page's query string: the history's filters and the
moment a cycle is shown as it stood."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from toc.cycles.models import CycleStatus


class HistoryFilterForm(forms.Form):
    """The filters of a system's history; each field that is valid filters."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *CycleStatus.choices]
    )
    opened_from = forms.DateField(
        required=False,
        label="Opened from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    opened_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("opened_from"), data.get("opened_to")
        if start and end and end < start:
            self.add_error("opened_to", "Pick a day on or after the first one.")
        return data


class AsOfForm(forms.Form):
    """When to show a cycle as it stood: a day (its end) or an exact time, in UTC."""

    as_of = forms.CharField(
        label="As it stood on",
        help_text="A day (YYYY-MM-DD) or a time (YYYY-MM-DD HH:MM), in UTC.",
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD", "size": 16}),
    )

    def clean_as_of(self) -> datetime:
        raw = self.cleaned_data["as_of"].strip()
        try:
            day = parse_date(raw)
            moment = None if day else parse_datetime(raw)
        except ValueError:  # well-formed but impossible, like 2025-02-30
            day = moment = None
        if day:
            # A day means all of it: what was saved that day counts.
            moment = datetime.combine(day, time.max, tzinfo=UTC)
        elif moment is None:
            raise forms.ValidationError(
                "Use a date like 2025-03-14 or 2025-03-14 09:30."
            )
        elif timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        try:
            # PostgreSQL refuses offsets past ±15:59, which Python parses.
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Pick a day from the year 1 on.") from None
        if moment > timezone.now() + timedelta(days=1):
            raise forms.ValidationError("Pick a day up to today.")
        return moment
