from __future__ import annotations

from django import forms

from toc.lib.bounds import FACTOR


class WhatIfForm(forms.Form):
    """The what-if on the system's page; the API's calculator takes the same factor."""

    stage = forms.ChoiceField()
    factor = forms.FloatField(
        validators=FACTOR.validators(),
        initial=3,
        help_text="Multiply this stage's capacity by…",
    )

    def __init__(self, *args, stage_names: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(name, name) for name in stage_names]
