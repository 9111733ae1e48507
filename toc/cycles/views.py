from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from toc.accounts.models import Role
from toc.cycles import export, services, steps_plan
from toc.cycles.access import get_cycle
from toc.cycles.chain import chain, unfinished
from toc.cycles.figures import timeline_figure
from toc.cycles.forms import CycleForm, ReopenForm, RetrospectiveNotesForm
from toc.cycles.models import Cycle, CycleStatus, RetrospectiveNotes
from toc.cycles.query_forms import AsOfForm, HistoryFilterForm
from toc.cycles.readings import Shown
from toc.cycles.records import ROWS, STEPS
from toc.cycles.retro import (
    NotYetRecorded,
    Snapshot,
    Summary,
    constraint_around,
    snapshot_as_of,
    snapshot_now,
    summarise,
)
from toc.cycles.rows import rows_context
from toc.cycles.steps import record_forms, step_context
from toc.cycles.trail import entries, trail
from toc.lib.http import HtmxHttpRequest, atomic_post, form_page, read_only
from toc.metrics.ledger import (
    constraint_standing,
    freshness,
    ledger_response,
    standing_payload,
)
from toc.systems.access import get_system

HISTORY_PAGE = 20  # cycles per page of a system's history
TRAIL_ON_DETAIL = 20  # newest changes on the cycle page; the rest on its trail page
TRAIL_PAGE = 50


@dataclass(frozen=True)
class InHistory:
    """What the system's history shows beside a cycle: its chain in a line."""

    summary: Summary
    overdue: int  # steps past due


@form_page
@login_required
def cycle_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The system's history: its cycles, newest first, each chain in a line."""
    system, role = get_system(request, slug)
    can_edit = role in (Role.EDITOR, Role.ADMIN)
    form = CycleForm(request.POST or None)
    if request.method == "POST":
        get_system(request, slug, needs=Role.EDITOR)
        if form.is_valid():
            try:
                cycle = services.cycle_open(
                    system=system, title=form.cleaned_data["title"], user=request.user
                )
            except services.CycleInProgress as refused:
                return _in_progress(request, refused.cycle, "open another")
            messages.success(request, f"Opened cycle {cycle.number}.")
            return redirect(cycle)
    filters = HistoryFilterForm(request.GET)
    filters.is_valid()  # a valid field filters; an invalid one shows its error
    wanted = filters.cleaned_data
    cycles = (
        steps_plan.with_overdue(system.cycles.all())
        .select_related(
            "constraint",
            "problem",
            "conflict__broken_assumption",
            "innovation",
            "experiment",
        )
        .prefetch_related("outcome__rows")
    )
    if wanted.get("status"):
        cycles = cycles.filter(status=wanted["status"])
    if wanted.get("opened_from"):
        cycles = cycles.filter(created__date__gte=wanted["opened_from"])
    if wanted.get("opened_to"):
        cycles = cycles.filter(created__date__lte=wanted["opened_to"])
    page = Paginator(cycles, HISTORY_PAGE).get_page(request.GET.get("page"))
    page.object_list = [
        Shown(c, InHistory(summarise(c), steps_plan.overdue_steps(c))) for c in page
    ]
    return render(
        request,
        "cycles/list.html",
        {
            "system": system,
            "page": page,
            "filters": filters,
            "filtered": any(wanted.values()),
            "has_cycles": bool(page.object_list) or system.cycles.exists(),
            "timeline": timeline_figure(
                system, ledger_response(system), timezone.now()
            ),
            "form": form,
            "running": system.cycles.filter(status=CycleStatus.OPEN).first(),
            "can_edit": can_edit,
            "can_admin": role == Role.ADMIN,
        },
    )


def _in_progress(request: HttpRequest, running: Cycle, refused: str) -> HttpResponse:
    """409: what was refused (`refused`, "open another") while `running` is open."""
    return render(
        request,
        "cycles/in_progress.html",
        {"system": running.system, "running": running, "refused": refused},
        status=409,
    )


def _page_context(cycle, role: Role, step: str | None) -> dict:
    steps = chain(cycle)
    return {
        "cycle": cycle,
        "system": cycle.system,
        "steps": steps,
        "current": step,
        "can_edit": role in (Role.EDITOR, Role.ADMIN)
        and cycle.status == CycleStatus.OPEN,
        "can_admin": role == Role.ADMIN,
        "live_constraint": _live_constraint_elsewhere(cycle),
    }


def _live_constraint_elsewhere(cycle) -> dict | None:
    """Where the ledger puts the constraint, when an open cycle works on another
    stage: the standing the system page shows, and whether it is still live.

    The constraint moves while a cycle runs (its own change, or the traffic's),
    and work on a stage that no longer limits the pipeline raises nothing.
    """
    chosen = cycle.constraint.stage
    if cycle.status != CycleStatus.OPEN or not chosen:
        return None
    payload = standing_payload(cycle.system)
    if payload is None:
        return None
    standing = constraint_standing(payload)
    if standing is None or standing.stage == chosen:
        return None
    return {
        "standing": standing,
        "last_sample_at": payload["last_sample_at"] or payload["window_end"],
        **freshness(payload, timezone.now()),
    }


@read_only
@login_required
def cycle_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    cycle, role = get_cycle(request, slug, number)
    context = _page_context(cycle, role, None)
    changes = trail(cycle)
    context["trail"] = entries(changes[:TRAIL_ON_DETAIL])
    context["trail_total"] = changes.count()
    return render(request, "cycles/detail.html", context)


@read_only
@login_required
def cycle_trail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    cycle, role = get_cycle(request, slug, number)
    page = Paginator(trail(cycle), TRAIL_PAGE).get_page(request.GET.get("page"))
    context = _page_context(cycle, role, None)
    context.update(page=page, trail=entries(page.object_list))
    return render(request, "cycles/trail.html", context)


@read_only
@login_required
def cycle_retrospective(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The whole chain on one page, now or as it stood on a day (?as_of=)."""
    cycle, role = get_cycle(request, slug, number)
    return _retrospective(request, cycle, role)


def _retrospective(
    request: HttpRequest,
    cycle: Cycle,
    role: Role,
    notes_form: RetrospectiveNotesForm | None = None,
) -> HttpResponse:
    form = AsOfForm(request.GET if request.GET.get("as_of") else None)
    snapshot: Snapshot | None = snapshot_now(cycle)
    not_recorded: NotYetRecorded | None = None
    if form.is_bound and form.is_valid():
        try:
            snapshot = snapshot_as_of(cycle, form.cleaned_data["as_of"])
        except NotYetRecorded as gap:
            snapshot, not_recorded = None, gap
    # The notes are written as the cycle stands now, closed or not (access.py).
    can_write = role in (Role.EDITOR, Role.ADMIN) and not form.is_bound
    if can_write and notes_form is None:
        notes = getattr(cycle, "lessons", None) or RetrospectiveNotes(cycle_id=cycle.pk)
        notes_form = RetrospectiveNotesForm(instance=notes, prefix="lessons")
    return render(
        request,
        "cycles/retrospective.html",
        {
            "cycle": cycle,
            "system": cycle.system,
            "s": snapshot,
            "form": form,
            "not_recorded": not_recorded,
            "can_admin": role == Role.ADMIN,
            "notes_form": notes_form if can_write else None,
            "constraint": constraint_around(cycle, timezone.now())
            if snapshot
            else None,
        },
    )


@require_POST
@login_required
@atomic_post
def cycle_notes(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    """Saves the retrospective notes (editor), to a closed cycle too; htmx gets
    the notes' part of the page back, saved or with the form's errors."""
    cycle, role = get_cycle(
        request, slug, number, needs=Role.EDITOR, lock=True, writes="lessons"
    )
    # Read apart from the cycle's own, so that the page around a refused form
    # shows the notes as stored, not as typed.
    stored = RetrospectiveNotes.objects.filter(cycle=cycle).first()
    form = RetrospectiveNotesForm(
        request.POST,
        instance=stored or RetrospectiveNotes(cycle_id=cycle.pk),
        prefix="lessons",
    )
    saved = form.is_valid()
    if saved:
        # The notes' form saves the notes.
        stored = cast(
            RetrospectiveNotes,
            services.record_save(
                cycle=cycle, name="lessons", form=form, user=request.user
            ),
        )
        if not request.htmx:
            messages.success(request, "Saved the retrospective notes.")
            return redirect(f"{cycle.get_absolute_url()}retrospective/#notes")
        form = RetrospectiveNotesForm(instance=stored, prefix="lessons")
    if not request.htmx:
        return _retrospective(request, cycle, role, form)
    return render(
        request,
        "cycles/retrospective.html#notes",
        {"cycle": cycle, "notes": stored, "notes_form": form, "saved": saved},
    )


EXPORTS = {
    "md": (export.as_markdown, "text/markdown; charset=utf-8"),
    "json": (export.as_json, "application/json"),
}


@read_only
@login_required
def cycle_export(
    request: HttpRequest, slug: str, number: int, fmt: str
) -> HttpResponse:
    if fmt not in EXPORTS:
        raise Http404("No such export.")
    cycle, _ = get_cycle(request, slug, number)
    snapshot = snapshot_now(cycle)
    if request.GET.get("as_of"):
        form = AsOfForm(request.GET)
        if not form.is_valid():
            return HttpResponseBadRequest(" ".join(map(str, form.errors["as_of"])))
        try:
            snapshot = snapshot_as_of(cycle, form.cleaned_data["as_of"])
        except NotYetRecorded:
            raise Http404("The cycle has no history up to then.") from None
    write, content_type = EXPORTS[fmt]
    response = HttpResponse(write(snapshot), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        True, export.filename(snapshot, fmt)
    )
    return response


@form_page
@login_required
@atomic_post
def cycle_step(request: HttpRequest, slug: str, number: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404("No such step.")
    posted = request.method == "POST"
    needs = Role.EDITOR if posted else Role.VIEWER
    cycle, role = get_cycle(request, slug, number, needs=needs, lock=posted)
    specs = record_forms(cycle, step)
    bound_name = request.POST.get("form") if posted else None
    if posted and bound_name not in specs and bound_name not in steps_plan.PLAN_FORMS:
        return HttpResponse("Unknown form.", status=400)
    planned = {}
    if bound_name in steps_plan.PLAN_FORMS:
        form = steps_plan.bind(bound_name, request.POST, cycle, step)
        if form.is_valid():
            said, url = steps_plan.save(form, cycle=cycle, step=step, user=request.user)
            messages.success(request, said)
            return redirect(url)
        planned[bound_name] = form
    built = {
        name: form_class(
            request.POST if name == bound_name else None,
            instance=instance,
            prefix=name,
            **extra,
        )
        for name, (form_class, instance, extra) in specs.items()
    }
    if bound_name in built:
        form = built[bound_name]
        if form.is_valid():
            services.record_save(
                cycle=cycle, name=bound_name, form=form, user=request.user
            )
            messages.success(request, "Saved.")
            return redirect(f"{cycle.get_absolute_url()}{step}/")
    context = _page_context(cycle, role, step)
    context["forms"] = built
    context["row_lists"] = [
        rows_context(cycle, kind, context["can_edit"])
        for kind in ROWS.values()
        if kind.step == step
    ]
    lists = {rows["kind"].key: rows["rows"] for rows in context["row_lists"]}
    context.update(step_context(request, cycle, step, lists))
    context.update(
        steps_plan.step_plan_context(cycle, step, context["can_edit"], planned)
    )
    return render(request, f"cycles/step_{step}.html", context)


@form_page
@login_required
def cycle_next(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """GET: what closing the cycle leaves unfinished, and a button to go on.
    POST: closes it and opens the next, or with `then=stop` closes it alone
    (before reopening an earlier cycle, say)."""
    cycle, role = get_cycle(request, slug, number, needs=Role.EDITOR)
    if request.method == "GET":
        context = _page_context(cycle, role, None)
        context["unfinished"] = unfinished(context["steps"])
        return render(request, "cycles/next.html", context)
    try:
        if request.POST.get("then") == "stop":
            services.cycle_close(cycle=cycle)
            messages.success(
                request, f"Closed cycle {cycle.number}; no cycle is in progress now."
            )
            return redirect(cycle)
        following = services.cycle_close_and_continue(cycle=cycle, user=request.user)
    except services.CycleClosed:
        # A double click: the first request closed it and opened the next.
        messages.info(
            request,
            f"Cycle {cycle.number} was already closed; this is the newest cycle.",
        )
        return redirect(cycle.system.cycles.latest("number"))
    messages.success(
        request, f"Closed cycle {cycle.number} and opened cycle {following.number}."
    )
    return redirect(following)


@form_page
@login_required
def cycle_reopen(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A team admin puts a closed cycle back in progress, saying why."""
    cycle, role = get_cycle(request, slug, number)
    if role != Role.ADMIN:
        raise PermissionDenied("Only a team admin can reopen a cycle.")
    if cycle.status == CycleStatus.OPEN:
        return _open_already(request, cycle)
    form = ReopenForm(request.POST or None)
    if form.is_valid():
        try:
            services.cycle_reopen(
                cycle=cycle, reason=form.cleaned_data["reason"], user=request.user
            )
        except services.CycleInProgress as refused:
            return _in_progress(request, refused.cycle, f"reopen cycle {number}")
        except services.CycleNotClosed:  # reopened by another request meanwhile
            return _open_already(request, cycle)
        messages.success(request, f"Reopened cycle {cycle.number}.")
        return redirect(cycle)
    context = _page_context(cycle, role, None)
    context["form"] = form
    context["running"] = cycle.system.cycles.filter(status=CycleStatus.OPEN).first()
    return render(request, "cycles/reopen.html", context)


def _open_already(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    messages.info(request, f"Cycle {cycle.number} is in progress already.")
    return redirect(cycle)
