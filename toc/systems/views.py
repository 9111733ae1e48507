from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from toc.accounts.forms import SecretNameForm
from toc.accounts.models import Role, Team
from toc.lib import shown_once, unique
from toc.lib.http import HtmxHttpRequest, form_page, read_only
from toc.systems import services
from toc.systems.access import get_stage, get_system
from toc.systems.forms import StageForm, SystemCreateForm, SystemForm
from toc.systems.models import IngestKey, System


@read_only
@login_required
def system_list(request: HttpRequest) -> HttpResponse:
    systems = (
        System.objects.for_user(request.user)
        .select_related("team")
        .annotate(stage_count=Count("stages"))
        .order_by("team__name", "name")
    )
    can_create = Team.objects.writable_by(request.user).exists()
    return render(
        request,
        "systems/list.html",
        {"systems": systems, "can_create": can_create},
    )


@form_page
@login_required
def system_create(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.writable_by(request.user)
    if not teams.exists():
        messages.error(request, "You need the editor role in a team to add systems.")
        return redirect("systems:list")

    form = SystemCreateForm(request.POST or None, teams=teams)
    system = unique.saved(
        form,
        lambda: services.system_create(
            team=form.cleaned_data["team"],
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            description=form.cleaned_data["description"],
        ),
    )
    if system is not None:
        messages.success(request, f"Created {system.name}. Now add its stages.")
        return redirect("systems:stages", slug=system.slug)
    return render(request, "systems/form.html", {"form": form, "system": None})


@read_only
@login_required
def stage_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug)
    template = "systems/stages.html#stages" if request.htmx else "systems/stages.html"
    return render(request, template, _stages_context(system, role))


@form_page
@login_required
def system_edit(request: HttpRequest, slug: str) -> HttpResponse:
    system, _ = get_system(request, slug, needs=Role.EDITOR)
    form = SystemForm(request.POST or None, instance=system)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return redirect(system)
    return render(request, "systems/form.html", {"form": form, "system": system})


@form_page
@login_required
def system_delete(request: HttpRequest, slug: str) -> HttpResponse:
    system, _ = get_system(request, slug, needs=Role.ADMIN)
    if request.method == "POST":
        system.delete()
        messages.success(request, f"Deleted {system.name} and everything in it.")
        return redirect("systems:list")
    return render(request, "systems/delete.html", {"system": system})


def _stages_context(
    system: System, role: Role, add_form: StageForm | None = None
) -> dict:
    return {
        "system": system,
        "stages": list(system.stages.all()),
        "can_edit": role in (Role.EDITOR, Role.ADMIN),
        "can_admin": role == Role.ADMIN,
        "add_form": add_form or StageForm(system=system),
    }


def _stages_response(
    request: HtmxHttpRequest, system: System, message: str
) -> HttpResponse:
    """htmx gets the refreshed stage list; a plain form post goes back to the page."""
    if request.htmx:
        # The edit row targets itself (so its errors replace only that row);
        # a successful save refreshes the whole list instead.
        response = render(
            request, "systems/stages.html#stages", _stages_context(system, Role.EDITOR)
        )
        return reswap(retarget(response, "#stages"), "outerHTML")
    messages.success(request, message)
    return redirect("systems:stages", slug=system.slug)


@form_page
@login_required
def stage_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    system, role = get_system(request, slug, needs=Role.EDITOR)
    form = StageForm(request.POST or None, system=system)
    stage = unique.saved(form, lambda: services.stage_create(system=system, form=form))
    if stage is not None:
        return _stages_response(request, system, f"Added stage {stage.name}.")
    if request.htmx:
        return render(
            request, "systems/stages.html#stages", _stages_context(system, role, form)
        )
    return render(request, "systems/stage_form.html", {"form": form, "system": system})


@form_page
@login_required
def stage_edit(request: HtmxHttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    stage = get_stage(request, slug, stage_slug, needs=Role.EDITOR)
    # Its own prefix, so the inline row's fields don't share ids with the add form.
    form = StageForm(
        request.POST or None, instance=stage, system=stage.system, prefix="edit"
    )
    if unique.saved(form, form.save) is not None:
        return _stages_response(request, stage.system, f"Saved stage {stage.name}.")
    template = (
        "systems/stage_form.html#stage-edit"
        if request.htmx
        else "systems/stage_form.html"
    )
    return render(
        request, template, {"form": form, "system": stage.system, "stage": stage}
    )


@require_POST
@login_required
def stage_move(request: HtmxHttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    stage = get_stage(request, slug, stage_slug, needs=Role.EDITOR)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("direction must be up or down", status=400)
    services.stage_move(stage=stage, offset=offset)
    return _stages_response(request, stage.system, f"Moved stage {stage.name}.")


@form_page
@login_required
def stage_delete(request: HtmxHttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    stage = get_stage(request, slug, stage_slug, needs=Role.EDITOR)
    if request.method == "POST":
        services.stage_delete(stage=stage)
        return _stages_response(request, stage.system, f"Deleted stage {stage.name}.")
    return render(
        request, "systems/stage_delete.html", {"stage": stage, "system": stage.system}
    )


def _keys_page(
    request: HttpRequest, system: System, form: SecretNameForm
) -> HttpResponse:
    response = render(
        request,
        "systems/keys.html",
        {
            "system": system,
            "keys": system.ingest_keys.select_related("created_by"),
            "form": form,
            "new_secret": shown_once.new_secret(request),
            "can_admin": True,
            "can_edit": True,
        },
    )
    return shown_once.shown(request, response)


@form_page
@login_required
def key_list(request: HttpRequest, slug: str) -> HttpResponse:
    system, _ = get_system(request, slug, needs=Role.ADMIN)
    form = SecretNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, secret = IngestKey.issue(
            system=system, name=form.cleaned_data["name"], created_by=request.user
        )
        return shown_once.redirect_showing(
            secret, reverse("systems:keys", args=[system.slug])
        )
    return _keys_page(request, system, form)


@form_page
@login_required
def key_revoke(request: HttpRequest, slug: str, key_id: int) -> HttpResponse:
    system, _ = get_system(request, slug, needs=Role.ADMIN)
    key = system.ingest_keys.active().filter(pk=key_id).first()
    if key is None:
        raise Http404("No such active key.")
    if request.method == "POST":
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        messages.success(request, f"Revoked {key.name}; it no longer posts samples.")
        return redirect("systems:keys", slug=system.slug)
    return render(request, "systems/key_revoke.html", {"system": system, "key": key})
