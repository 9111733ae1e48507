from __future__ import annotations

from django import forms


class WhatIfForm(forms.Form):
    stage = forms.ChoiceField()
    factor = forms.FloatField(
        min_value=0.1,
        max_value=100,
        initial=3,
        help_text="Multiply this stage's capacity by…",
    )

    def __init__(self, *args, stage_names: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(name, name) for name in stage_names]
