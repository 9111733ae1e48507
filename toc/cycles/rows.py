"""Inline lists of a cycle's records (SLOs, whys, assumptions, tiers, …).

Every list works the same way: add, edit in place, move and delete with htmx,
each with a full-page fallback. A RowKind says which model, form and parent a
list has; one set of views and one template serve them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models, transaction
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import (
    HttpResponseClientRefresh,
    reswap,
    retarget,
    trigger_client_event,
)

from toc import ordering
from toc.accounts.models import Role
from toc.cycles import forms
from toc.cycles.access import get_cycle
from toc.cycles.models import (
    Assumption,
    Criterion,
    Cycle,
    Feature,
    OutcomeRow,
    RolloutPhase,
    Slo,
    Tier,
    Why,
)
from toc.cycles.steps import constraint_stage, decorate_rows


@dataclass(frozen=True)
class RowKind:
    key: str
    noun: str  # with its article ("an SLO"), as the add form's heading says it
    model: type[models.Model]
    form: type[ModelForm]
    step: str
    parent: Callable[[Cycle], models.Model | None]
    parent_field: str
    ordered: bool = False
    # The step's record form offers these rows as choices, so the page reloads.
    feeds_record_form: bool = False

    @property
    def bare_noun(self) -> str:
        return self.noun.split(" ", 1)[1]

    @property
    def row_template(self) -> str:
        return f"cycles/rows/{self.key}.html"

    def rows(self, cycle: Cycle) -> list[models.Model]:
        parent = self.parent(cycle)
        if parent is None:
            return []
        rows = self.model.objects.filter(**{self.parent_field: parent})
        return list(rows.order_by("position", "id") if self.ordered else rows)


KINDS = {
    kind.key: kind
    for kind in [
        RowKind(
            "slos", "an SLO", Slo, forms.SloForm, "goal", lambda c: c, "cycle", True
        ),
        RowKind(
            "whys",
            "a why",
            Why,
            forms.WhyForm,
            "problem",
            lambda c: c.problem,
            "problem",
            True,
        ),
        RowKind(
            "features",
            "a feature",
            Feature,
            forms.FeatureForm,
            "problem",
            constraint_stage,
            "stage",
        ),
        RowKind(
            "assumptions",
            "an assumption",
            Assumption,
            forms.AssumptionForm,
            "conflict",
            lambda c: c.conflict,
            "conflict",
            feeds_record_form=True,
        ),
        RowKind(
            "tiers",
            "a tier",
            Tier,
            forms.TierForm,
            "innovation",
            lambda c: c.innovation,
            "innovation",
            True,
        ),
        RowKind(
            "criteria",
            "a criterion",
            Criterion,
            forms.CriterionForm,
            "experiment",
            lambda c: c.experiment,
            "experiment",
        ),
        RowKind(
            "phases",
            "a phase",
            RolloutPhase,
            forms.PhaseForm,
            "rollout",
            lambda c: c.rollout,
            "rollout",
            True,
        ),
        RowKind(
            "outcome-rows",
            "a row",
            OutcomeRow,
            forms.OutcomeRowForm,
            "outcome",
            lambda c: c.outcome,
            "outcome",
        ),
    ]
}


def _kind(key: str) -> RowKind:
    kind = KINDS.get(key)
    if kind is None:
        raise Http404("No such list.")
    return kind


def rows_context(cycle: Cycle, kind: RowKind, can_edit: bool, form=None) -> dict:
    rows = kind.rows(cycle)
    return {
        "cycle": cycle,
        "kind": kind,
        "rows": decorate_rows(cycle, kind.key, rows),
        "can_edit": can_edit and kind.parent(cycle) is not None,
        "add_form": form or kind.form(prefix=f"new-{kind.key}"),
    }


def _rows_response(request: HttpRequest, cycle: Cycle, kind: RowKind, message: str):
    if request.htmx and kind.feeds_record_form:
        return HttpResponseClientRefresh()
    if request.htmx:
        response = render(request, "cycles/_rows.html", rows_context(cycle, kind, True))
        response = reswap(retarget(response, f"#rows-{kind.key}"), "outerHTML")
        # The chain at the top of the page re-reads its state.
        return trigger_client_event(response, "cycle-changed")
    messages.success(request, message)
    return redirect(f"{cycle.get_absolute_url()}{kind.step}/#rows-{kind.key}")


def _editable(request: HttpRequest, slug: str, number: int, key: str):
    cycle, _ = get_cycle(request, slug, number, needs=Role.EDITOR)
    kind = _kind(key)
    parent = kind.parent(cycle)
    if parent is None:
        raise Http404(f"This cycle has nowhere to keep a {kind.bare_noun} yet.")
    return cycle, kind, parent


def _row(kind: RowKind, parent: models.Model, pk: int) -> models.Model:
    row = kind.model.objects.filter(**{kind.parent_field: parent}, pk=pk).first()
    if row is None:
        raise Http404(f"No such {kind.bare_noun}.")
    return row


@transaction.atomic
def _reorder(kind: RowKind, parent: models.Model, reorder: Callable) -> object:
    """Runs `reorder` on the parent's rows and writes history for each row it moved.

    toc.ordering writes positions with bulk_update, which simple-history does not
    see; without these rows the trail and the as-of views would keep old orders.
    """
    siblings = kind.model.objects.filter(**{kind.parent_field: parent})
    before = dict(siblings.select_for_update().values_list("pk", "position"))
    result = reorder(siblings)
    moved = [row for row in siblings if before.get(row.pk) != row.position]
    kind.model.history.bulk_history_create(moved, update=True)
    return result


@login_required
def row_add(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    form = kind.form(request.POST or None, prefix=f"new-{kind.key}")
    if request.method == "POST" and form.is_valid():
        row = form.save(commit=False)
        setattr(row, kind.parent_field, parent)
        if kind.ordered:
            last = kind.model.objects.filter(**{kind.parent_field: parent}).aggregate(
                models.Max("position")
            )["position__max"]
            row.position = 0 if last is None else last + 1
        row.save()
        return _rows_response(request, cycle, kind, f"Added the {kind.bare_noun}.")
    context = rows_context(cycle, kind, True, form)
    if request.htmx:
        return render(request, "cycles/_rows.html", context)
    return render(request, "cycles/row_form.html", {**context, "form": form})


@login_required
def row_edit(
    request: HttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    row = _row(kind, parent, pk)
    form = kind.form(request.POST or None, instance=row, prefix=f"edit-{kind.key}-{pk}")
    if request.method == "POST" and form.is_valid():
        form.save()
        return _rows_response(request, cycle, kind, f"Saved the {kind.bare_noun}.")
    context = {"cycle": cycle, "kind": kind, "row": row, "form": form}
    template = (
        "cycles/row_form.html#row-edit" if request.htmx else "cycles/row_form.html"
    )
    return render(request, template, context)


@login_required
def row_delete(
    request: HttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    row = _row(kind, parent, pk)
    if request.method == "POST":
        with transaction.atomic():
            if kind.model is Assumption and cycle.conflict.broken_assumption_id == pk:
                # SET_NULL would clear it with an UPDATE the audit trail never sees.
                cycle.conflict.broken_assumption = None
                cycle.conflict.save(update_fields=["broken_assumption"])
            row.delete()
            if kind.ordered:
                _reorder(kind, parent, ordering.close_gaps)
        return _rows_response(request, cycle, kind, f"Deleted the {kind.bare_noun}.")
    return render(
        request, "cycles/row_delete.html", {"cycle": cycle, "kind": kind, "row": row}
    )


@require_POST
@login_required
def row_move(
    request: HttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if not kind.ordered or offset is None:
        return HttpResponse("direction must be up or down", status=400)
    if not _reorder(kind, parent, lambda rows: ordering.move(rows, pk, offset)):
        raise Http404(f"No such {kind.bare_noun}.")
    return _rows_response(request, cycle, kind, f"Moved the {kind.bare_noun}.")
