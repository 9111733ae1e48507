from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from toc.accounts.models import Role
from toc.cycles.chain import cycle_with_links
from toc.cycles.models import Cycle, CycleStatus
from toc.systems.access import get_system


def get_cycle(
    request: HttpRequest, slug: str, number: int, *, needs: Role = Role.VIEWER
) -> tuple[Cycle, Role]:
    """The cycle with all its links, if the user's team may see it (404 otherwise)."""
    system, role = get_system(request, slug, needs=needs)
    cycle = cycle_with_links(system.cycles.all()).filter(number=number).first()
    if cycle is None:
        raise Http404("No such cycle.")
    if needs != Role.VIEWER and cycle.status == CycleStatus.CLOSED:
        raise PermissionDenied("This cycle is closed; its record stays as it was.")
    cycle.system = system
    return cycle, role
