from __future__ import annotations

from typing import Any, cast

from django import forms

from toc.lib.bounds import FACTOR
from toc.metrics import prometheus
from toc.metrics.models import PrometheusSource
from toc.metrics.promql import url_problem
from toc.systems.models import Stage


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
        cast(forms.ChoiceField, self.fields["stage"]).choices = [
            (name, name) for name in stage_names
        ]


def query_field(stage_slug: str, name: str) -> str:
    """The form field of one stage's expression for one sample field."""
    return f"{stage_slug}.{name}"


class PrometheusForm(forms.Form):
    """Where a system's samples are pulled from: the page's form, and what the
    API's PUT is checked by. One optional field per stage and sample field."""

    url = forms.CharField(
        max_length=500,
        label="Prometheus URL",
        help_text="The server's base URL, as toc's workers reach it, e.g. "
        "http://prometheus:9090.",
    )
    interval_s = forms.IntegerField(
        min_value=prometheus.MIN_INTERVAL_S,
        max_value=prometheus.MAX_INTERVAL_S,
        initial=60,
        label="Pull every (seconds)",
        help_text="Each pull reads everything since the last one, at "
        f"{prometheus.STEP_S} s steps.",
    )

    def __init__(self, *args, stages: list[Stage], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stages = stages
        for stage in stages:
            for name in prometheus.FIELDS:
                self.fields[query_field(stage.slug, name)] = forms.CharField(
                    required=False,
                    max_length=prometheus.MAX_PROMQL,
                    label=name,
                    # The presets of the field, offered as the box's suggestions.
                    widget=forms.TextInput(
                        attrs={
                            "list": f"presets-{name}",
                            "spellcheck": "false",
                            "autocomplete": "off",
                        }
                    ),
                )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for stage in self.stages:
            given = {
                name
                for name in prometheus.FIELDS
                if cleaned.get(query_field(stage.slug, name))
            }
            if not given:
                continue  # not pulled: its samples may be posted
            for name in prometheus.required_of(stage):
                if name not in given:
                    self.add_error(
                        query_field(stage.slug, name),
                        f"Required: every sample of {stage.name} needs {name}, "
                        "once any of its fields is pulled.",
                    )
        return cleaned

    def queries(self) -> dict[str, dict[str, str]]:
        """The expressions given, by stage slug and field."""
        return {
            stage.slug: {
                name: promql
                for name in prometheus.FIELDS
                if (promql := self.cleaned_data.get(query_field(stage.slug, name)))
            }
            for stage in self.stages
            if any(
                self.cleaned_data.get(query_field(stage.slug, name))
                for name in prometheus.FIELDS
            )
        }

    @staticmethod
    def initial_of(source: PrometheusSource | None) -> dict:
        if source is None:
            return {}
        return {
            "url": source.url,
            "interval_s": source.interval_s,
            **{
                query_field(q.stage.slug, q.field): q.promql
                for q in source.queries.select_related("stage")
            },
        }
