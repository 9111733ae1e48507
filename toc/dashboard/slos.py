"""The system's SLOs: its goal, kept while the constraint moves from stage to
stage. Listed with their values now; added, edited in place, reordered and
deleted like the stages (htmx, with a full-page fallback for each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from toc.accounts.access import team_role
from toc.accounts.models import Role
from toc.analysis.budget import ALERT_RULES, BURN_WINDOWS, AlertRule
from toc.charts.slo_budget import budget_charts
from toc.cycles.models import CycleStatus
from toc.cycles.readings import LiveBudget, measure_slos
from toc.lib import formats
from toc.lib.http import HtmxHttpRequest, form_page, read_only
from toc.metrics.ledger import ledger_response
from toc.metrics.models import SloBudget
from toc.systems import services
from toc.systems.access import get_slo, get_system
from toc.systems.forms import SloForm
from toc.systems.models import System

LIST = "dashboard/slos.html#slos"
# SloForm's fields from this one on say how the SLO is measured live.
FIRST_LIVE_FIELD = "indicator"


@dataclass(frozen=True)
class SloFields:
    """An SLO form's fields in two groups: what the SLO is, and how it is
    measured live (shown folded unless it is bound or one of them is wrong)."""

    basics: list[BoundField]
    live: list[BoundField]

    @classmethod
    def of(cls, form: SloForm) -> SloFields:
        fields = list(form)
        start = next(
            (i for i, f in enumerate(fields) if f.name == FIRST_LIVE_FIELD),
            len(fields),
        )
        return cls(fields[:start], fields[start:])

    @property
    def open(self) -> bool:
        return any(
            f.errors or (f.name == FIRST_LIVE_FIELD and f.value()) for f in self.live
        )


def _context(system: System, role: Role, add_form: SloForm | None = None) -> dict:
    add_form = add_form or SloForm(prefix="new", system=system)
    return {
        "system": system,
        "slos": measure_slos(system.slos.all(), lambda: ledger_response(system)),
        "open_cycle": system.cycles.filter(status=CycleStatus.OPEN).first(),
        "can_edit": role in (Role.EDITOR, Role.ADMIN),
        "can_admin": role == Role.ADMIN,
        "add_form": add_form,
        "add_fields": SloFields.of(add_form),
    }


def _list_response(
    request: HtmxHttpRequest, system: System, message: str
) -> HttpResponse:
    """htmx gets the refreshed list; a plain form post goes back to the page."""
    if request.htmx:
        response = render(request, LIST, _context(system, Role.EDITOR))
        return reswap(retarget(response, "#slos"), "outerHTML")
    messages.success(request, message)
    return redirect("systems:slos", slug=system.slug)


@read_only
@login_required
def slo_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    template = LIST if request.htmx else "dashboard/slos.html"
    return render(request, template, _context(system, role))


@form_page
@login_required
def slo_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug, needs=Role.EDITOR)
    form = SloForm(request.POST or None, prefix="new", system=system)
    if request.method == "POST" and form.is_valid():
        slo = services.slo_create(system=system, form=form)
        return _list_response(request, system, f"Added the SLO {slo.name}.")
    if request.htmx:
        return render(request, LIST, _context(system, role, form))
    return render(
        request,
        "dashboard/slo_form.html",
        {"form": form, "fields": SloFields.of(form), "system": system},
    )


@form_page
@login_required
def slo_edit(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
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
    return render(
        request,
        template,
        {
            "form": form,
            "fields": SloFields.of(form),
            "system": slo.system,
            "slo": slo,
        },
    )


@require_POST
@login_required
def slo_move(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    slo = get_slo(request, slug, pk, needs=Role.EDITOR)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("direction must be up or down", status=400)
    services.slo_move(slo=slo, offset=offset)
    return _list_response(request, slo.system, f"Moved the SLO {slo.name}.")


@form_page
@login_required
def slo_delete(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    slo = get_slo(request, slug, pk, needs=Role.EDITOR)
    if request.method == "POST":
        services.slo_delete(slo=slo)
        return _list_response(request, slo.system, f"Deleted the SLO {slo.name}.")
    return render(
        request, "dashboard/slo_delete.html", {"slo": slo, "system": slo.system}
    )


# The burn-rate windows (toc.analysis.budget.BURN_WINDOWS' keys) as the page
# names them.
WINDOW_NAMES = {
    "5m": "5 min",
    "30m": "30 min",
    "1h": "1 h",
    "2h": "2 h",
    "6h": "6 h",
    "1d": "1 day",
    "3d": "3 days",
}


@dataclass(frozen=True)
class BurnRate:
    window: str
    rate: float | None

    @property
    def shown(self) -> str:
        return formats.DASH if self.rate is None else _factor(self.rate)


@read_only
@login_required
def slo_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One SLO: what it measures, and once live, its compliance, error budget,
    burn rates and alert as the worker last computed them, with their charts."""
    slo = get_slo(request, slug, pk, needs=Role.VIEWER)
    role = team_role(request, slo.system.team_id)
    figures = SloBudget.objects.filter(slo=slo).first() if slo.is_live else None
    stage = slo.system.stages.filter(slug=slo.stage).first() if slo.stage else None
    rates = figures.burn_rates if figures else {}
    return render(
        request,
        "dashboard/slo_detail.html",
        {
            "system": slo.system,
            "slo": slo,
            "stage_name": stage.name if stage else slo.stage,
            "figures": figures,
            "objective": formats.nines(slo.objective),
            "budget": LiveBudget.of(slo, figures) if slo.is_live else None,
            "burn_rates": [
                BurnRate(WINDOW_NAMES[key], rates.get(key)) for key in BURN_WINDOWS
            ],
            "alert_rules": [_rule_words(rule) for rule in ALERT_RULES],
            "charts": _budget_charts(figures),
            "can_edit": role in (Role.EDITOR, Role.ADMIN),
            "can_admin": role == Role.ADMIN,
        },
    )


def _rule_words(rule: AlertRule) -> str:
    """A rule in words: "a page at 14.4× over 1 h and 5 min"."""
    windows = f"{WINDOW_NAMES[rule.long]} and {WINDOW_NAMES[rule.short]}"
    return f"a {rule.severity} at {_factor(rule.factor)} over {windows}"


def _factor(rate: float) -> str:
    return f"{formats.significant(rate)}×"


def _budget_charts(figures: SloBudget | None) -> dict | None:
    """The budget and burn-rate charts from the worker's hourly series; None
    before it has one."""
    series = figures.series if figures else {}
    if not series.get("t"):
        return None
    return budget_charts(
        [datetime.fromisoformat(moment) for moment in series["t"]],
        (figures.window_start, figures.window_end),  # type: ignore[union-attr]
        series.get("budget_remaining", []),
        series.get("burn_rate_1h", []),
    )
