"""Inline lists of a cycle's records (whys, assumptions, tiers, …).

Every list works the same way: add, edit in place, move and delete with htmx,
each with a full-page fallback. A RowKind (records.py) says which model, form and
parent a list has; one set of views and one template serve them all, and the
changes themselves are services shared with the API.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import (
    reswap,
    retarget,
    trigger_client_event,
)

from toc.accounts.models import Role
from toc.cycles import services
from toc.cycles.access import get_cycle, get_parent, get_row
from toc.cycles.models import Cycle
from toc.cycles.records import ROWS, RowKind
from toc.lib import unique
from toc.lib.http import HtmxHttpRequest, atomic_post, form_page


def _kind(key: str) -> RowKind:
    kind = ROWS.get(key)
    if kind is None:
        raise Http404("No such list.")
    return kind


def rows_context(cycle: Cycle, kind: RowKind, can_edit: bool, form=None) -> dict:
    """A list as its step page shows it: each row with what is read beside it
    (readings.Shown)."""
    rows = kind.show(kind.rows(cycle))
    return {
        "cycle": cycle,
        "kind": kind,
        "rows": rows,
        "can_edit": can_edit and kind.parent_of(cycle) is not None,
        "add_form": form or kind.form(prefix=f"new-{kind.key}"),
    }


def _rows_response(request: HtmxHttpRequest, cycle: Cycle, kind: RowKind, message: str):
    if request.htmx:
        response = render(request, "cycles/_rows.html", rows_context(cycle, kind, True))
        response = reswap(retarget(response, f"#rows-{kind.key}"), "outerHTML")
        # What the page shows of the whole cycle re-reads itself: the chain,
        # the "still missing" box, the cloud, a record form's choices.
        return trigger_client_event(response, "cycle-changed")
    messages.success(request, message)
    return redirect(f"{cycle.get_absolute_url()}{kind.step}/#rows-{kind.key}")


def _editable(request: HttpRequest, slug: str, number: int, key: str):
    # Only the list's parent with the cycle: the list itself is read after the
    # change, so that the answer shows it.
    kind = ROWS.get(key)
    cycle, _ = get_cycle(
        request,
        slug,
        number,
        needs=Role.EDITOR,
        links=kind.selected if kind else (),
        lock=request.method == "POST",
    )
    kind = _kind(key)
    return cycle, kind, get_parent(cycle, kind)


@form_page
@login_required
@atomic_post
def row_add(request: HtmxHttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    # The new row knows its parent before it is validated, so that its form can
    # check what must be unique there (a feature's name within its stage).
    form = kind.form(
        request.POST or None,
        instance=kind.model(**{kind.parent: parent}),
        prefix=f"new-{kind.key}",
    )
    row = unique.saved(
        form, lambda: services.row_create(kind=kind, parent=parent, form=form)
    )
    if row is not None:
        return _rows_response(request, cycle, kind, f"Added the {kind.bare_noun}.")
    context = rows_context(cycle, kind, True, form)
    if request.htmx:
        return render(request, "cycles/_rows.html", context)
    return render(request, "cycles/row_form.html", {**context, "form": form})


@form_page
@login_required
@atomic_post
def row_edit(
    request: HtmxHttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    row = get_row(kind, parent, pk)
    form = kind.form(request.POST or None, instance=row, prefix=f"edit-{kind.key}-{pk}")
    if unique.saved(form, form.save) is not None:
        return _rows_response(request, cycle, kind, f"Saved the {kind.bare_noun}.")
    context = {"cycle": cycle, "kind": kind, "row": row, "form": form}
    template = (
        "cycles/row_form.html#row-edit" if request.htmx else "cycles/row_form.html"
    )
    return render(request, template, context)


@form_page
@login_required
@atomic_post
def row_delete(
    request: HtmxHttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    row = get_row(kind, parent, pk)
    if request.method == "POST":
        services.row_delete(cycle=cycle, kind=kind, parent=parent, row=row)
        return _rows_response(request, cycle, kind, f"Deleted the {kind.bare_noun}.")
    return render(
        request, "cycles/row_delete.html", {"cycle": cycle, "kind": kind, "row": row}
    )


@require_POST
@login_required
@atomic_post
def row_move(
    request: HtmxHttpRequest, slug: str, number: int, key: str, pk: int
) -> HttpResponse:
    cycle, kind, parent = _editable(request, slug, number, key)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if not kind.ordered or offset is None:
        return HttpResponse("direction must be up or down", status=400)
    if not services.row_move(kind=kind, parent=parent, pk=pk, offset=offset):
        raise Http404(f"No such {kind.bare_noun}.")
    return _rows_response(request, cycle, kind, f"Moved the {kind.bare_noun}.")
