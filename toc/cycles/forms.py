from __future__ import annotations

from typing import Any, cast

from django import forms

from toc.cycles.models import (
    Assumption,
    Conflict,
    ConstraintChoice,
    Criterion,
    Cycle,
    Decision,
    Experiment,
    Innovation,
    Outcome,
    OutcomeRow,
    Pattern,
    Problem,
    RetrospectiveNotes,
    Rollout,
    RolloutPhase,
    Tier,
    ValidationExperiment,
    Why,
)
from toc.lib import bounds

TEXTAREA = forms.Textarea(attrs={"rows": 2})


class CycleForm(forms.ModelForm):
    class Meta:
        model = Cycle
        fields = ["title"]


class ReopenForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=TEXTAREA,
        help_text="Why the cycle is not finished after all. It is kept in the "
        "cycle's audit trail.",
        error_messages={
            "required": "Say why the cycle is reopened; the trail keeps the reason."
        },
    )


def _stage_choices(cycle: Cycle, blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(stage.slug, stage.name) for stage in cycle.system.stages.all()]
    return [("", blank), *choices] if blank is not None else choices


class ConstraintChoiceForm(forms.ModelForm):
    stage = forms.ChoiceField()

    class Meta:
        model = ConstraintChoice
        fields = ["stage", "reason"]
        widgets = {"reason": TEXTAREA}
        labels = {"reason": "Why this stage"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = _stage_choices(self.instance.cycle)
        cast(forms.ChoiceField, self.fields["stage"]).choices = choices
        self.stage_names = dict(choices)

    def save(self, commit: bool = True) -> ConstraintChoice:
        self.instance.stage_name = self.stage_names[self.cleaned_data["stage"]]
        return super().save(commit)


class ValidationForm(forms.ModelForm):
    stage = forms.ChoiceField()

    class Meta:
        model = ValidationExperiment
        fields = ["stage", "capacity_factor", "started", "ended", "notes"]
        labels = {"capacity_factor": "Capacity multiplied by"}
        widgets = {
            "started": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ended": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "notes": TEXTAREA,
        }

    def __init__(self, *args, cycle: Cycle, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["stage"]).choices = _stage_choices(cycle)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        started, ended = data.get("started"), data.get("ended")
        if started and ended and ended <= started:
            self.add_error("ended", "The experiment must end after it starts.")
        return data


class DecisionBudgetForm(forms.Form):
    """Little's law on the goal page; the API's calculator takes the same ranges."""

    alerts_per_day = forms.FloatField(
        validators=bounds.AMOUNT.validators(), label="Alerts per day"
    )
    minutes_per_investigation = forms.FloatField(
        validators=bounds.MINUTES_PER_INVESTIGATION.validators(),
        label="Minutes per investigation",
    )
    analysts = forms.FloatField(
        validators=bounds.PEOPLE.validators(), label="People available"
    )
    hours_per_analyst = forms.FloatField(
        validators=bounds.HOURS_PER_DAY.validators(),
        initial=8,
        label="Hours each per day",
    )


class ProblemForm(forms.ModelForm):
    gap_percent = forms.FloatField(
        required=False,
        validators=bounds.PERCENT.validators(),
        label="Share of the gap it explains (0–100 %)",
        help_text="The problem worth solving explains at least half of the gap.",
    )

    class Meta:
        model = Problem
        fields = ["statement", "root_cause"]
        widgets = {"statement": TEXTAREA}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.gap_share is not None:
            percent = round(self.instance.gap_share * 100, 1)
            self.initial["gap_percent"] = (
                int(percent) if percent.is_integer() else percent
            )

    def save(self, commit: bool = True) -> Problem:
        percent = self.cleaned_data["gap_percent"]
        self.instance.gap_share = None if percent is None else percent / 100
        return super().save(commit)


class WhyForm(forms.ModelForm):
    class Meta:
        model = Why
        fields = ["answer", "evidence", "validated"]
        widgets = {"answer": TEXTAREA, "evidence": TEXTAREA}
        labels = {"answer": "Because…", "validated": "Validated by the evidence"}


class ConflictForm(forms.ModelForm):
    class Meta:
        model = Conflict
        fields = [
            "objective",
            "need_b",
            "action_d",
            "need_c",
            "action_e",
            "broken_assumption",
            "oscillation",
            "oscillation_note",
        ]
        labels = {
            "objective": "A · Common objective",
            "need_b": "B · Need",
            "action_d": "D · Action that serves B",
            "need_c": "C · Need",
            "action_e": "D′ · Action that serves C",
            "broken_assumption": "Assumption the team chose to break",
            "oscillation": "How the team has been oscillating",
        }
        widgets = {"oscillation_note": TEXTAREA}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        broken = cast(forms.ModelChoiceField, self.fields["broken_assumption"])
        broken.queryset = self.instance.assumptions.all()
        # Assumptions are added in place, without a reload: the choice re-reads
        # its options from the page then (rows.py sends cycle-changed). Only the
        # options are swapped, and the request sends no value of its own.
        broken.widget.attrs.update(
            {
                "hx-get": "",
                "hx-params": "none",
                "hx-trigger": "cycle-changed from:body",
                "hx-select": f"#{self['broken_assumption'].auto_id} > option",
                "hx-swap": "innerHTML",
            }
        )


class AssumptionForm(forms.ModelForm):
    class Meta:
        model = Assumption
        fields = ["arrow", "text", "verdict", "reasoning"]
        labels = {"arrow": "Props up", "text": "We assume that…"}
        widgets = {"reasoning": TEXTAREA}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A challenged assumption says why: the reasoning is required once a
        # verdict is given (or, before anything is typed, already stands), and
        # its label says so instead of "optional".
        verdict = (
            self.data.get(self.add_prefix("verdict"))
            if self.is_bound
            else self.instance.verdict
        )
        reasoning = self.fields["reasoning"]
        reasoning.required = bool(verdict)
        reasoning.error_messages["required"] = (
            "Say why, so the challenge can be checked."
        )


class InnovationForm(forms.ModelForm):
    patterns = forms.MultipleChoiceField(
        choices=Pattern.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Innovation
        fields = [
            "summary",
            "patterns",
            "pros_kept_b",
            "pros_kept_c",
            "residual_cons",
            "organizational_change",
        ]
        widgets = {
            name: TEXTAREA
            for name in (
                "summary",
                "pros_kept_b",
                "pros_kept_c",
                "residual_cons",
                "organizational_change",
            )
        }
        labels = {
            "pros_kept_b": "Pros kept from side B",
            "pros_kept_c": "Pros kept from side C",
            "residual_cons": "Residual cons accepted",
        }


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = [
            "name",
            "features",
            "model",
            "traffic_share",
            "exit_share",
            "latency_ms",
        ]
        labels = {
            "traffic_share": "Share of traffic seen (0–1)",
            "exit_share": "Share that exits here (0–1)",
            "latency_ms": "Latency (ms)",
        }


class CascadeForm(forms.Form):
    """The cascade on the innovation page; the API's calculator takes the same
    ranges."""

    input_rate = forms.FloatField(
        validators=bounds.AMOUNT.validators(), label="Input rate (records/s)"
    )
    target_utilization = forms.FloatField(
        validators=bounds.TARGET_UTILIZATION.validators(),
        initial=0.7,
        label="Target utilization (0.05–1)",
    )


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["riskiest_assumption", "hypothesis", "results", "learnings"]
        widgets = {
            name: TEXTAREA
            for name in ("riskiest_assumption", "hypothesis", "results", "learnings")
        }


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = ["metric", "comparator", "threshold", "result"]


class DecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[c for c in Decision.choices if c[0]], widget=forms.RadioSelect
    )

    class Meta:
        model = Experiment
        fields = ["decision", "decision_reason"]
        widgets = {"decision_reason": TEXTAREA}
        labels = {"decision_reason": "Reason"}

    def __init__(self, *args, verdict_error, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.verdict_error = verdict_error

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        decision = data.get("decision")
        if decision:
            error = self.verdict_error(decision, data.get("decision_reason", ""))
            if error:
                self.add_error("decision_reason", error)
        return data


class RolloutForm(forms.ModelForm):
    class Meta:
        model = Rollout
        fields = ["rollback_rule"]
        widgets = {"rollback_rule": TEXTAREA}


class PhaseForm(forms.ModelForm):
    class Meta:
        model = RolloutPhase
        fields = ["name", "traffic_share", "hold_hours", "success_criteria", "status"]
        widgets = {"success_criteria": TEXTAREA}
        labels = {"traffic_share": "Share of traffic (0–1)"}


class OutcomeForm(forms.ModelForm):
    next_constraint = forms.ChoiceField(
        required=False, label="Where the constraint went"
    )

    class Meta:
        model = Outcome
        fields = ["next_constraint", "notes"]
        widgets = {"notes": TEXTAREA}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["next_constraint"]).choices = [
            *_stage_choices(self.instance.cycle, blank="Not known yet"),
            ("outside", "Outside the pipeline (demand or policy)"),
        ]


class OutcomeRowForm(forms.ModelForm):
    class Meta:
        model = OutcomeRow
        fields = ["metric", "before", "after", "unit", "lower_is_better"]


# Each part of the retrospective notes: a meeting's worth of text, as a comment is.
NOTE_LENGTH = 4000


def _note(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=help_text,
    )


class RetrospectiveNotesForm(forms.ModelForm):
    went_well = _note("What went well")
    to_change = _note("What to change")
    actions = _note("Actions", "One action a line; each becomes an item of the list.")

    class Meta:
        model = RetrospectiveNotes
        fields = ["went_well", "to_change", "actions"]
