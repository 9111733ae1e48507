"""The system's Prometheus source: where its stage samples are pulled from.

Editors set the URL, the interval and each stage's expressions, and may test
what they typed before saving it (each expression run once, now); everyone in
the team reads what each expression last did.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from toc.accounts.models import Role
from toc.lib.http import form_page
from toc.metrics import prometheus
from toc.metrics.forms import PrometheusForm, query_field
from toc.metrics.models import PrometheusQuery, PrometheusSource
from toc.metrics.prometheus_presets import PRESETS
from toc.metrics.promql import url_problem
from toc.systems.access import get_system
from toc.systems.models import Stage, System

PAGE = "dashboard/prometheus.html"


@dataclass(frozen=True)
class Line:
    """One sample field of one stage, as the page shows it."""

    name: str
    required: bool
    field: BoundField
    query: PrometheusQuery | None  # as saved, with its last success and error
    tried: prometheus.Tried | None  # what "Test queries" gave


@dataclass(frozen=True)
class StageLines:
    stage: Stage
    lines: list[Line]

    @property
    def saved(self) -> bool:
        return any(line.query for line in self.lines)

    @property
    def open(self) -> bool:
        """Shown unfolded: something of it is saved, typed, wrong or tested."""
        return any(
            line.query or line.field.value() or line.field.errors or line.tried
            for line in self.lines
        )


def _lines(
    form: PrometheusForm,
    source: PrometheusSource | None,
    tried: dict[tuple[str, str], prometheus.Tried],
) -> list[StageLines]:
    saved = {}
    if source is not None:
        saved = {(q.stage_id, q.field): q for q in source.queries.all()}
    return [
        StageLines(
            stage,
            [
                Line(
                    name,
                    name in prometheus.required_of(stage),
                    form[query_field(stage.slug, name)],
                    saved.get((stage.pk, name)),
                    tried.get((stage.slug, name)),
                )
                for name in prometheus.FIELDS
            ],
        )
        for stage in form.stages
    ]


def _render(
    request: HttpRequest,
    system: System,
    role: Role,
    form: PrometheusForm,
    tried: dict[tuple[str, str], prometheus.Tried] | None = None,
) -> HttpResponse:
    source = PrometheusSource.objects.filter(system=system).first()
    context = {
        "system": system,
        "source": source,
        "form": form,
        "stage_lines": _lines(form, source, tried or {}),
        "tested": tried is not None,
        "presets": PRESETS,
        "presets_by_field": [
            (name, [p for p in PRESETS if p.field == name])
            for name in prometheus.FIELDS
        ],
        "tried_any": bool(tried),
        "step_s": prometheus.STEP_S,
        "can_edit": role in (Role.EDITOR, Role.ADMIN),
        "can_admin": role == Role.ADMIN,
    }
    return render(request, PAGE, context)


@form_page
@login_required
def prometheus_source(request: HttpRequest, slug: str) -> HttpResponse:
    needs = Role.EDITOR if request.method == "POST" else Role.VIEWER
    system, role = get_system(request, slug, needs=needs)
    stages = list(system.stages.all())
    if request.method != "POST":
        source = PrometheusSource.objects.filter(system=system).first()
        initial = PrometheusForm.initial_of(source)
        return _render(
            request, system, role, PrometheusForm(initial=initial, stages=stages)
        )
    form = PrometheusForm(request.POST, stages=stages)
    if not form.is_valid():
        return _render(request, system, role, form)
    prometheus.source_configure(
        system=system,
        url=form.cleaned_data["url"],
        interval_s=form.cleaned_data["interval_s"],
        queries=form.queries(),
    )
    messages.success(
        request, "Saved. The next pull reads every stage since the last one."
    )
    return redirect("systems:prometheus", slug=system.slug)


@require_POST
@login_required
def prometheus_test(request: HttpRequest, slug: str) -> HttpResponse:
    """Runs each expression typed (saved or not) once against the URL typed,
    and shows the page again as it was typed, with each one's value or error."""
    system, role = get_system(request, slug, needs=Role.EDITOR)
    form = PrometheusForm(request.POST, stages=list(system.stages.all()))
    form.is_valid()  # the errors show beside the results
    url = request.POST.get("url", "")
    typed = {
        (stage.slug, name): promql
        for stage in form.stages
        for name in prometheus.FIELDS
        if (promql := request.POST.get(query_field(stage.slug, name), "").strip())
        and len(promql) <= prometheus.MAX_PROMQL
    }
    tried: dict[tuple[str, str], prometheus.Tried] = {}
    if url_problem(url) is None:
        tried = prometheus.queries_try(url=url, queries=typed)
    return _render(request, system, role, form, tried)
