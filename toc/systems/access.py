from __future__ import annotations

from django.http import Http404, HttpRequest

from toc.accounts.access import require_role, team_role
from toc.accounts.models import Role
from toc.systems.models import Slo, Stage, System


def get_system(
    request: HttpRequest, slug: str, *, needs: Role = Role.VIEWER
) -> tuple[System, Role]:
    """The system if the user's team may see it (404 otherwise), with their role."""
    system = System.objects.select_related("team").filter(slug=slug).first()
    if system is None:
        raise Http404("No such system.")
    return system, require_role(team_role(request, system.team_id), needs, "system")


def get_stage(
    request: HttpRequest, system_slug: str, stage_slug: str, *, needs: Role
) -> Stage:
    system, _ = get_system(request, system_slug, needs=needs)
    stage = system.stages.filter(slug=stage_slug).first()
    if stage is None:
        raise Http404("No such stage.")
    stage.system = system
    return stage


def get_slo(request: HttpRequest, system_slug: str, pk: int, *, needs: Role) -> Slo:
    system, _ = get_system(request, system_slug, needs=needs)
    slo = system.slos.filter(pk=pk).first()
    if slo is None:
        raise Http404("No such SLO.")
    slo.system = system
    return slo
