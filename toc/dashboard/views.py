from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from toc.accounts.models import Role
from toc.analysis import what_if
from toc.cycles.figures import event_moves, slo_figure, stage_names, timeline_figure
from toc.cycles.models import Cycle
from toc.cycles.readings import values_of
from toc.dashboard.figures import (
    RANGES,
    ledger_figures,
    series_figure,
    stage_figures,
)
from toc.dashboard.forms import WindowForm
from toc.lib.http import HtmxHttpRequest, read_only
from toc.lib.replica import replica_reads
from toc.metrics.forms import WhatIfForm
from toc.metrics.ledger import (
    constraint_standing,
    ledger_response,
    rows_from_payload,
)
from toc.systems.access import get_system
from toc.systems.models import System

RECENT_EVENTS = 10
MOVES_PER_PAGE = 25


def _dashboard_context(request: HttpRequest, system: System, role: Role) -> dict:
    ledger = ledger_response(system)
    has_data = ledger["computed_at"] is not None
    names = [row["name"] for row in ledger["stages"] if row["samples"]]
    # The page's other parameters (the chart's range) are not a what-if question.
    asked = "stage" in request.GET or "factor" in request.GET
    form = WhatIfForm(request.GET if asked else None, stage_names=names)
    if not asked and ledger["constraint"]:
        form.initial["stage"] = ledger["constraint"]["name"]
    scenario = None
    if has_data and asked and form.is_valid():
        scenario = what_if(
            rows_from_payload(ledger),
            form.cleaned_data["stage"],
            form.cleaned_data["factor"],
        )
    standing = constraint_standing(ledger)
    return {
        "system": system,
        "ledger": ledger,
        "standing": standing,
        "has_data": has_data,
        "figures": (
            ledger_figures(ledger, standing.stage if standing else None, system)
            if has_data
            else {}
        ),
        "slo_chart": slo_figure(system, ledger),
        "window_end": parse_datetime(ledger["window_end"] or ""),
        "events": event_moves(
            system.constraint_events.all()[:RECENT_EVENTS], stage_names(ledger)
        ),
        "what_if_form": form,
        "scenario": scenario,
        "can_admin": role == Role.ADMIN,
        "ingest_url": request.build_absolute_uri(
            f"/api/v1/systems/{system.slug}/samples/"
        ),
    }


def _window_context(request: HttpRequest, ledger: dict) -> dict:
    form = WindowForm(request.GET)
    window = form.window(ledger)
    return {"ranges": RANGES, "window": window, "window_form": form}


def _series_context(request: HttpRequest, system: System, ledger: dict) -> dict:
    context = _window_context(request, ledger)
    stages = list(system.stages.all())
    context["series_chart"] = series_figure(system, stages, ledger, context["window"])
    return context


@read_only
@login_required
@replica_reads
def system_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    context = _dashboard_context(request, system, role)
    if context["has_data"]:
        context.update(_series_context(request, system, context["ledger"]))
    return render(request, "dashboard/dashboard.html", context)


@read_only
@login_required
@replica_reads
def system_series(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The time-series block alone, for its range switch and its refresh."""
    system, _ = get_system(request, slug)
    if not request.htmx:
        return redirect(f"{system.get_absolute_url()}?{request.GET.urlencode()}")
    ledger = ledger_response(system)
    context = {"system": system, **_series_context(request, system, ledger)}
    return render(request, "dashboard/dashboard.html#series", context)


@read_only
@login_required
@replica_reads
def system_ledger(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The ledger block alone, which the dashboard polls."""
    system, role = get_system(request, slug)
    if not request.htmx:
        return redirect(system)
    context = _dashboard_context(request, system, role)
    return render(request, "dashboard/dashboard.html#ledger", context)


@read_only
@login_required
def system_what_if(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    context = _dashboard_context(request, system, role)
    if request.htmx:
        return render(request, "dashboard/dashboard.html#what-if", context)
    if context["has_data"]:
        context.update(_series_context(request, system, context["ledger"]))
    return render(request, "dashboard/dashboard.html", context)


@read_only
@login_required
def system_timeline(request: HttpRequest, slug: str) -> HttpResponse:
    """Where the constraint sat over the system's whole history, and the cycles."""
    system, role = get_system(request, slug)
    ledger = ledger_response(system)
    # Any: the page's constraint events are swapped for their moves below.
    moves: Page[Any] = Paginator(
        system.constraint_events.all(), MOVES_PER_PAGE
    ).get_page(request.GET.get("page"))
    moves.object_list = event_moves(moves.object_list, stage_names(ledger))
    return render(
        request,
        "dashboard/timeline.html",
        {
            "system": system,
            "can_admin": role == Role.ADMIN,
            "timeline": timeline_figure(system, ledger, timezone.now()),
            "moves": moves,
            "ledger": ledger,
            "standing": constraint_standing(ledger),
        },
    )


@read_only
@login_required
def stage_detail(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    """One stage over time: how busy, how queued, how slow, where its time went,
    what it failed on, its features and the cycles that worked on it."""
    system, role = get_system(request, slug)
    stage = system.stages.filter(slug=stage_slug).first()
    if stage is None:
        raise Http404("No such stage.")
    ledger = ledger_response(system)
    row = next((r for r in ledger["stages"] if r["stage"] == stage.slug), None)
    context = _window_context(request, ledger)
    standing = constraint_standing(ledger)
    cycles = list(
        Cycle.objects.filter(system=system, constraint__stage=stage.slug)
        .select_related("constraint")
        .order_by("-number")
    )
    for cycle in cycles:
        cycle.system = system  # for its URL
    return render(
        request,
        "dashboard/stage.html",
        {
            **context,
            **stage_figures(system, stage, ledger, context["window"]),
            "system": system,
            "stage": stage,
            "can_admin": role == Role.ADMIN,
            "ledger": ledger,
            "row": row,
            "standing": standing,
            "reason": _reason_naming(ledger, stage.slug),
            "features": [
                (value, math.isfinite(value.score))
                for value in values_of(stage.features.all())
            ],
            "cycles": cycles,
        },
    )


def _reason_naming(ledger: dict, stage_slug: str) -> str | None:
    """The ledger's verdict when it is about this stage: as the constraint, its
    near tie or the next to saturate."""
    named = [
        (ledger.get(key) or {}).get("stage")
        for key in ("constraint", "near_tie", "next_constraint")
    ]
    return ledger["reason"] if stage_slug in named else None
