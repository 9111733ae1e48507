"""Who owns each step of a cycle, by when, and the team's comments on it.

Editors set a step's owner and due date; a viewer reads them and the comments
but writes neither (a viewer's role is read-only throughout). Writes lock the
cycle, as every write to a cycle does, and a closed cycle refuses them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, TypedDict, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from toc.cycles.models import Comment, Cycle, CycleStatus, RolloutPhase, StepPlan

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# "@name" where a word starts, so that an e-mail address mentions no one.
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+)")


def members(cycle: Cycle) -> QuerySet:
    """The people who may own a step or be mentioned: the system's team."""
    return (
        get_user_model()
        .objects.filter(memberships__team_id=cycle.system.team_id)
        .order_by("username")
    )


class StepPlanForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label="Nobody yet",
        error_messages={
            "invalid_choice": "Choose someone in this system's team (by username)."
        },
    )
    due = forms.DateField(
        required=False,
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )

    class Meta:
        model = StepPlan
        fields = ["owner", "due"]

    def __init__(self, *args, cycle: Cycle, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = members(cycle)
        if self.instance.owner is not None:
            # The select's options are usernames, so is the owner shown chosen.
            self.initial["owner"] = self.instance.owner.get_username()


class CommentForm(forms.ModelForm):
    text = forms.CharField(
        label="Comment",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Name a teammate with @username to mention them.",
        error_messages={"required": "Write something before posting."},
    )

    class Meta:
        model = Comment
        fields = ["text"]

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError("Write something before posting.")
        return text


def default_due(cycle: Cycle, step: str) -> date | None:
    """The rollout is due once its phases' holds have passed, counted from the
    day the cycle opened. The experiment has no timebox on record, so it has no
    date until someone sets one; neither have the other steps."""
    if step != "rollout":
        return None
    # The step page has the phases at hand already.
    return _rollout_due(cycle, sum(p.hold_hours for p in cycle.rollout.phases.all()))


def _rollout_due(cycle: Cycle, hours: float | None) -> date | None:
    if not hours:
        return None
    return (cycle.created + timedelta(hours=math.ceil(hours))).date()


def plan_of(cycle: Cycle, step: str) -> StepPlan:
    """The step's plan; an unsaved one with the defaults until someone sets it."""
    plan = (
        StepPlan.objects.select_related("owner").filter(cycle=cycle, step=step).first()
    )
    return plan or StepPlan(cycle=cycle, step=step, due=default_due(cycle, step))


def is_overdue(plan: StepPlan, cycle: Cycle, today: date | None = None) -> bool:
    """A due date passed while the cycle is in progress."""
    today = today or timezone.localdate()
    return bool(plan.due and plan.due < today and cycle.status == CycleStatus.OPEN)


class Overdue(TypedDict):
    """What with_overdue adds to each cycle."""

    overdue_plans: int
    rollout_hours: float | None
    rollout_planned: bool


def with_overdue(cycles: QuerySet, today: date | None = None) -> QuerySet:
    """`cycles` with what overdue_steps needs, read inside the cycles' own query."""
    today = today or timezone.localdate()
    plans = StepPlan.objects.filter(cycle=OuterRef("pk")).order_by()
    overdue = (
        plans.filter(due__lt=today).values("cycle").annotate(n=Count("pk")).values("n")
    )
    hours = (
        RolloutPhase.objects.filter(rollout__cycle=OuterRef("pk"))
        .order_by()
        .values("rollout")
        .annotate(total=Sum("hold_hours"))
        .values("total")
    )
    return cycles.annotate(
        overdue_plans=Coalesce(Subquery(overdue), 0),
        rollout_hours=Subquery(hours),
        rollout_planned=Exists(plans.filter(step="rollout")),
    )


def overdue_steps(
    cycle: WithAnnotations[Cycle, Overdue], today: date | None = None
) -> int:
    """How many steps of a cycle read by with_overdue are past due while it is
    in progress, the rollout's default date included."""
    if cycle.status != CycleStatus.OPEN:
        return 0
    today = today or timezone.localdate()
    count = cycle.overdue_plans
    if not cycle.rollout_planned:
        due = _rollout_due(cycle, cycle.rollout_hours)
        count += bool(due and due < today)
    return count


def plan_save(*, cycle: Cycle, step: str, form: StepPlanForm) -> StepPlan:
    """Saves the owner and due date (the cycle locked by the caller)."""
    plan = form.save(commit=False)
    plan.cycle, plan.step = cycle, step
    plan.save()
    return plan


def mentioned(cycle: Cycle, text: str) -> list:
    """The team members `text` names as @username; other names stay text."""
    names = {name.rstrip(".") for name in MENTION.findall(text)}
    return list(members(cycle).filter(username__in=names)) if names else []


@transaction.atomic
def comment_post(*, cycle: Cycle, step: str, form: CommentForm, user) -> Comment:
    comment = form.save(commit=False)
    comment.cycle, comment.step, comment.author = cycle, step, user
    comment.save()
    comment.mentions.set(mentioned(cycle, comment.text))
    return comment


def comments_of(cycle: Cycle, step: str) -> list[Comment]:
    return list(
        Comment.objects.filter(cycle=cycle, step=step)
        .select_related("author")
        .prefetch_related("mentions")
    )


def with_mentions(comment: Comment) -> SafeString:
    """The comment's text, escaped, with each mention of a team member marked."""
    names = {user.get_username() for user in comment.mentions.all()}

    def mark(match: re.Match) -> str:
        name = match.group(1)
        bare = name.rstrip(".")
        if bare not in names:
            return escape(match.group(0))
        tail = escape(name[len(bare) :])
        return f'<strong class="mention">@{escape(bare)}</strong>{tail}'

    parts: list[str] = []
    last = 0
    for match in MENTION.finditer(comment.text):
        parts.append(escape(comment.text[last : match.start()]))
        parts.append(mark(match))
        last = match.end()
    parts.append(escape(comment.text[last:]))
    return mark_safe("".join(parts))  # every part is escaped above


@dataclass(frozen=True)
class Shown:
    comment: Comment
    html: SafeString


def step_plan_context(
    cycle: Cycle,
    step: str,
    can_edit: bool,
    bound: dict[str, StepPlanForm | CommentForm],
) -> dict:
    """What the step page shows of its plan and comments; `bound`: a form of
    PLAN_FORMS posted with errors, by name, to show as typed."""
    plan = plan_of(cycle, step)
    plan_form = comment_form = None
    if can_edit:
        plan_form = bound.get("step-plan") or StepPlanForm(instance=plan, cycle=cycle)
        comment_form = bound.get("comment") or CommentForm()
    return {
        "step_plan": plan,
        "step_plan_overdue": is_overdue(plan, cycle),
        "step_plan_form": plan_form,
        "step_comments": [Shown(c, with_mentions(c)) for c in comments_of(cycle, step)],
        "step_comment_form": comment_form,
    }


# The step page's forms besides its records, by the name a POST gives them.
PLAN_FORMS = {"step-plan": StepPlanForm, "comment": CommentForm}


def bind(name: str, data, cycle: Cycle, step: str) -> StepPlanForm | CommentForm:
    if name == "step-plan":
        return StepPlanForm(data, instance=plan_of(cycle, step), cycle=cycle)
    return CommentForm(data)


def save(
    form: StepPlanForm | CommentForm, *, cycle: Cycle, step: str, user
) -> tuple[str, str]:
    """Saves a valid form of PLAN_FORMS; returns what to say and where to go."""
    url = f"{cycle.get_absolute_url()}{step}/"
    if isinstance(form, StepPlanForm):
        plan_save(cycle=cycle, step=step, form=form)
        return "Saved the owner and due date.", f"{url}#step-plan"
    comment = comment_post(cycle=cycle, step=step, form=form, user=user)
    return "Comment posted.", f"{url}#comment-{comment.pk}"
