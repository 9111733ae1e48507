from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.text import slugify

from toc.accounts.models import Team
from toc.systems.models import (
    MAX_ITEMS_PER_HOUR,
    MAX_PEOPLE,
    RATIO_FIELDS,
    THRESHOLD_FIELDS,
    Feature,
    Indicator,
    Slo,
    Stage,
    StageKind,
    System,
)

# What each indicator cannot do without.
NEEDS = {
    Indicator.THRESHOLD: ("stage", "field", "threshold"),
    Indicator.RATIO: ("stage", "field", "total_field"),
    Indicator.PROMQL: ("promql_good", "promql_total"),
}
DEFAULTED = {
    "budgeting": Slo._meta.get_field("budgeting").default,
    "window_days": Slo._meta.get_field("window_days").default,
}
# As the model's constraint allows: a year and a day covers any calendar year.
MAX_WINDOW_DAYS = 366


class SystemForm(forms.ModelForm):
    class Meta:
        model = System
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class SystemCreateForm(SystemForm):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)

    class Meta(SystemForm.Meta):
        fields = ["team", "name", "slug", "description"]
        help_texts = {
            "slug": "A short key such as “nad”, used in URLs and the API. "
            "It cannot be changed later."
        }
        error_messages = {
            "slug": {"unique": "This key is taken by another system; choose another."}
        }

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams

    def clean_slug(self) -> str:
        # Lowercase, as stored: the unique check, which follows, compares it so.
        return self.cleaned_data["slug"].strip().lower()


# /systems/<slug>/stages/add/ adds a stage, so no stage's own page can be there.
ADD_PAGE = "add"


class StageForm(forms.ModelForm):
    PEOPLE_NUMBERS = ("people", "items_per_hour")
    people = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PEOPLE,
        help_text="For a stage of people: how many work it at once.",
    )
    items_per_hour = forms.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_ITEMS_PER_HOUR,
        label="Items per hour",
        help_text="For a stage of people: what one of them gets through in an "
        "hour (1.5 for 40 minutes an item).",
    )

    class Meta:
        model = Stage
        fields = [
            "name",
            "slug",
            "unit",
            "description",
            "kind",
            "people",
            "items_per_hour",
        ]
        help_texts = {
            "slug": "Leave empty to derive it from the name.",
            "kind": "Machine stages report their capacity with each sample. A "
            "stage of people (analysts triaging alerts) has it from people × "
            "items per hour, and its samples may leave it out.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, system: System, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.system = system
        self.fields["slug"].required = False
        # Left out (by a form or script older than stages of people), a stage
        # is a machine.
        kind = self.add_prefix("kind")
        if self.is_bound and kind not in self.data:
            # Typed a Mapping, it is a QueryDict (a dict) or a dict.
            data = cast("dict[str, Any]", self.data).copy()
            data[kind] = StageKind.MACHINE
            self.data = data
        # A stage of people needs both numbers: required (and labelled so, not
        # "optional") once the stage is, or is being made, one.
        human = (self.data[kind] if self.is_bound else self.instance.kind) == (
            StageKind.HUMAN
        )
        for name in self.PEOPLE_NUMBERS:
            self.fields[name].required = human
            self.fields[name].error_messages["required"] = (
                "A stage of people needs this number."
            )

    def _siblings(self):
        others = self.system.stages.all()
        return others.exclude(pk=self.instance.pk) if self.instance.pk else others

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self._siblings().filter(name=name).exists():
            raise forms.ValidationError(
                f"This system already has a stage named “{name}”."
            )
        return name

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug", "").strip().lower()
        if not slug:
            slug = slugify(self.data.get(self.add_prefix("name"), ""))[:40].strip("-")
            if not slug:
                raise forms.ValidationError(
                    "The name has no letters or digits to build a slug from; type one."
                )
        if slug == ADD_PAGE:
            raise forms.ValidationError(
                f"“{slug}” is the address of the page that adds a stage; choose "
                "another slug."
            )
        if self._siblings().filter(slug=slug).exists():
            raise forms.ValidationError(
                f"This system already has a stage “{slug}”; choose another slug."
            )
        return slug

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("kind") == StageKind.HUMAN:
            for name in self.PEOPLE_NUMBERS:
                if name not in self.errors and cleaned[name] <= 0:
                    self.add_error(name, "Must be above zero.")
        elif cleaned.get("kind") == StageKind.MACHINE:
            for name in self.PEOPLE_NUMBERS:
                if cleaned.get(name) is not None:
                    self.add_error(
                        name,
                        "Only a stage of people has this; a machine stage reports "
                        "its capacity in its samples. Leave it empty.",
                    )
        return cleaned


class FeatureForm(forms.ModelForm):
    """A feature of the stage its instance belongs to: pass a new
    ``Feature(stage=…)`` to add one, so that its name is checked among the
    stage's others."""

    class Meta:
        model = Feature
        fields = ["name", "importance", "compute_cost"]
        labels = {"compute_cost": "Compute cost"}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        others = Feature.objects.filter(stage_id=self.instance.stage_id, name=name)
        if self.instance.stage_id and others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                f"This stage already has a feature “{name}”; choose another name."
            )
        return name


class SloForm(forms.ModelForm):
    """An SLO, and what it is measured on continuously (its indicator).

    The stage must be one of the SLO's system: pass `system` for a new SLO,
    or an instance that has one.
    """

    class Meta:
        model = Slo
        fields = [
            "name",
            "dimension",
            "comparator",
            "target",
            "unit",
            "measured",
            "measured_from",
            "indicator",
            "stage",
            "field",
            "total_field",
            "threshold",
            "promql_good",
            "promql_total",
            "objective",
            "budgeting",
            "timeslice_target",
            "window_days",
            "calendar",
        ]
        labels = {
            "measured_from": "Measured how",
            "field": "Field (the bad one, for a ratio)",
            "total_field": "Total field",
            "promql_good": "PromQL of good events",
            "promql_total": "PromQL of all events",
            "timeslice_target": "Good share of a good minute",
            "window_days": "Window (days)",
        }
        help_texts = {
            "measured": "Leave empty when it is read off the metrics.",
            "threshold": "In the field's own unit; a minute is good when the "
            "field compares to it as the SLO's comparator says.",
            "objective": "The share of good minutes (or events) aimed at, such "
            "as 0.99.",
            "timeslice_target": "Ratio SLOs counted in minutes: a minute is good "
            "when its good share reaches this (0.99 if empty).",
        }

    def __init__(self, *args, system: System | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if system is None and self.instance.system_id is not None:
            system = self.instance.system
        self.system = system
        # A form that leaves the indicator out (an SLO measured as typed)
        # keeps the defaults rather than failing on fields it never showed.
        for name in DEFAULTED:
            self.fields[name].required = False

    def clean_budgeting(self) -> str:
        return self.cleaned_data["budgeting"] or DEFAULTED["budgeting"]

    def clean_objective(self) -> float | None:
        objective = self.cleaned_data["objective"]
        if objective is not None and not 0 < objective < 1:
            raise forms.ValidationError(
                "Enter a share between 0 and 1, such as 0.99 for 99%."
            )
        return objective

    def clean_timeslice_target(self) -> float | None:
        target = self.cleaned_data["timeslice_target"]
        if target is not None and not 0 < target <= 1:
            raise forms.ValidationError("Enter a share above 0, up to 1.")
        return target

    def clean_window_days(self) -> int:
        days = self.cleaned_data["window_days"]
        if days is None:
            return DEFAULTED["window_days"]
        if not 1 <= days <= MAX_WINDOW_DAYS:
            raise forms.ValidationError(
                f"Enter a number of days from 1 to {MAX_WINDOW_DAYS}."
            )
        return days

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        indicator = data.get("indicator", "")
        needs = NEEDS.get(indicator, ())
        for name in needs:
            if data.get(name) in (None, ""):
                self.add_error(name, f"A {indicator} indicator needs this.")
        if indicator == Indicator.THRESHOLD:
            self._check_field("field", THRESHOLD_FIELDS)
        elif indicator == Indicator.RATIO:
            self._check_field("field", RATIO_FIELDS)
            self._check_field("total_field", RATIO_FIELDS)
            if data.get("field") and data.get("field") == data.get("total_field"):
                self.add_error("total_field", "Choose a field other than the bad one.")
        stage = data.get("stage")
        if (
            "stage" in needs
            and stage
            and self.system is not None
            and not self.system.stages.filter(slug=stage).exists()
        ):
            self.add_error("stage", f"{self.system.name} has no stage “{stage}”.")
        return data

    def _check_field(self, name: str, allowed: tuple[str, ...]) -> None:
        value = self.cleaned_data.get(name)
        if value and value not in allowed:
            self.add_error(name, f"Choose one of {', '.join(allowed)}.")
