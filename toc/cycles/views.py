from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from toc.accounts.models import Role
from toc.cycles import services
from toc.cycles.access import get_cycle
from toc.cycles.chain import chain
from toc.cycles.forms import CycleForm
from toc.cycles.models import CycleStatus
from toc.cycles.rows import KINDS, rows_context
from toc.cycles.steps import STEPS, record_forms, step_context
from toc.systems.access import get_system

# Which inline lists each step page shows, in order.
STEP_ROWS = {
    "goal": ["slos"],
    "problem": ["whys", "features"],
    "conflict": ["assumptions"],
    "innovation": ["tiers"],
    "experiment": ["criteria"],
    "rollout": ["phases"],
    "outcome": ["outcome-rows"],
}


@login_required
def cycle_list(request: HttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    can_edit = role in (Role.EDITOR, Role.ADMIN)
    form = CycleForm(request.POST or None)
    if request.method == "POST":
        get_system(request, slug, needs=Role.EDITOR)
        if form.is_valid():
            cycle = services.cycle_open(
                system=system, title=form.cleaned_data["title"], user=request.user
            )
            messages.success(request, f"Opened cycle {cycle.number}.")
            return redirect(cycle)
    return render(
        request,
        "cycles/list.html",
        {
            "system": system,
            "cycles": system.cycles.select_related("constraint"),
            "form": form,
            "can_edit": can_edit,
            "can_admin": role == Role.ADMIN,
        },
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
    }


@login_required
def cycle_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    cycle, role = get_cycle(request, slug, number)
    return render(request, "cycles/detail.html", _page_context(cycle, role, None))


@login_required
def cycle_step(request: HttpRequest, slug: str, number: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404("No such step.")
    cycle, role = get_cycle(request, slug, number)
    specs = record_forms(cycle, step)
    bound_name = None
    if request.method == "POST":
        cycle, role = get_cycle(request, slug, number, needs=Role.EDITOR)
        specs = record_forms(cycle, step)
        bound_name = request.POST.get("form")
        if bound_name not in specs:
            return HttpResponse("Unknown form.", status=400)
    record_forms_built = {}
    for name, (form_class, instance, extra) in specs.items():
        data = request.POST if name == bound_name else None
        record_forms_built[name] = form_class(
            data, instance=instance, prefix=name, **extra
        )
    if bound_name:
        form = record_forms_built[bound_name]
        if form.is_valid():
            record = form.save(commit=False)
            _stamp(record, bound_name, cycle, request)
            record.save()
            form.save_m2m()
            messages.success(request, "Saved.")
            return redirect(f"{cycle.get_absolute_url()}{step}/")
    context = _page_context(cycle, role, step)
    context.update(step_context(request, cycle, step))
    context["forms"] = record_forms_built
    context["row_lists"] = [
        rows_context(cycle, KINDS[key], context["can_edit"]) for key in STEP_ROWS[step]
    ]
    return render(request, f"cycles/step_{step}.html", context)


def _stamp(record, form_name: str, cycle, request: HttpRequest) -> None:
    """Fills in what the form does not carry: its cycle, who chose or decided, when."""
    if form_name == "validation":
        record.cycle = cycle
    elif form_name == "constraint":
        record.chosen_by = request.user
    elif form_name == "decision":
        record.decided_by = request.user
        record.decided_at = timezone.now()


@require_POST
@login_required
def cycle_next(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    # A closed cycle is refused by get_cycle, so a double click opens one cycle.
    cycle, _ = get_cycle(request, slug, number, needs=Role.EDITOR)
    following = services.cycle_close_and_continue(cycle=cycle, user=request.user)
    messages.success(
        request, f"Closed cycle {cycle.number} and opened cycle {following.number}."
    )
    return redirect(following)
