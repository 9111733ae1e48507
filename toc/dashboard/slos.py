"""The system's SLOs: its goal, kept while the constraint moves from stage to
stage. Listed with their values now; added, edited in place, reordered and
deleted like the stages (htmx, with a full-page fallback for each)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from toc.accounts.models import Role
from toc.cycles.models import CycleStatus
from toc.cycles.readings import measure_slos
from toc.lib.http import form_page, read_only
from toc.metrics.ledger import ledger_response
from toc.systems import services
from toc.systems.access import get_slo, get_system
from toc.systems.forms import SloForm
from toc.systems.models import System

LIST = "dashboard/slos.html#slos"


def _context(system: System, role: Role, add_form: SloForm | None = None) -> dict:
    return {
        "system": system,
        "slos": measure_slos(system.slos.all(), lambda: ledger_response(system)),
        "open_cycle": system.cycles.filter(status=CycleStatus.OPEN).first(),
        "can_edit": role in (Role.EDITOR, Role.ADMIN),
        "can_admin": role == Role.ADMIN,
        "add_form": add_form or SloForm(prefix="new"),
    }


def _list_response(request: HttpRequest, system: System, message: str) -> HttpResponse:
    """htmx gets the refreshed list; a plain form post goes back to the page."""
    if request.htmx:
        response = render(request, LIST, _context(system, Role.EDITOR))
        return reswap(retarget(response, "#slos"), "outerHTML")
    messages.success(request, message)
    return redirect("systems:slos", slug=system.slug)


@read_only
@login_required
def slo_list(request: HttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    template = LIST if request.htmx else "dashboard/slos.html"
    return render(request, template, _context(system, role))


@form_page
@login_required
def slo_add(request: HttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug, needs=Role.EDITOR)
    form = SloForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        slo = services.slo_create(system=system, form=form)
        return _list_response(request, system, f"Added the SLO {slo.name}.")
    if request.htmx:
        return render(request, LIST, _context(system, role, form))
    return render(request, "dashboard/slo_form.html", {"form": form, "system": system})


@form_page
@login_required
def slo_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    slo = get_slo(request, slug, pk, needs=Role.EDITOR)
    # Its own prefix, so the inline row's fields don't share ids with the add form.
    form = SloForm(request.POST or None, instance=slo, prefix=f"slo-{slo.pk}")
    if request.method == "POST" and form.is_valid():
        form.save()
        return _list_response(request, slo.system, f"Saved the SLO {slo.name}.")
    template = (
        "dashboard/slo_form.html#slo-edit"
        if request.htmx
        else "dashboard/slo_form.html"
    )
    return render(request, template, {"form": form, "system": slo.system, "slo": slo})


@require_POST
@login_required
def slo_move(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    slo = get_slo(request, slug, pk, needs=Role.EDITOR)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("direction must be up or down", status=400)
    services.slo_move(slo=slo, offset=offset)
    return _list_response(request, slo.system, f"Moved the SLO {slo.name}.")


@form_page
@login_required
def slo_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    slo = get_slo(request, slug, pk, needs=Role.EDITOR)
    if request.method == "POST":
        services.slo_delete(slo=slo)
        return _list_response(request, slo.system, f"Deleted the SLO {slo.name}.")
    return render(
        request, "dashboard/slo_delete.html", {"slo": slo, "system": slo.system}
    )
