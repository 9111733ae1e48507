from __future__ import annotations

from django import forms
from django.utils.text import slugify

from toc.accounts.models import Team
from toc.systems.models import Stage, System


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

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if System.objects.filter(slug=slug).exists():
            raise forms.ValidationError(
                f"The key “{slug}” is taken by another system; choose another."
            )
        return slug


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "slug", "unit", "description"]
        help_texts = {"slug": "Leave empty to derive it from the name."}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, system: System, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.system = system
        self.fields["slug"].required = False

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
        if self._siblings().filter(slug=slug).exists():
            raise forms.ValidationError(
                f"This system already has a stage “{slug}”; choose another slug."
            )
        return slug
