from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from toc.accounts.models import Role
from toc.cycles.chain import cycle_with_links
from toc.cycles.kinds import RowKind
from toc.cycles.models import Cycle, CycleStatus
from toc.systems.access import get_system


def get_cycle(
    request: HttpRequest,
    slug: str,
    number: int,
    *,
    needs: Role = Role.VIEWER,
    links: bool = True,
) -> tuple[Cycle, Role]:
    """The cycle, if the user's team may see it (404 otherwise).

    With `links`, every record and list of its chain comes with it, as pages
    that show the chain need; without, each record is read when first used,
    which for a request about one record or row is a fraction of the cost.
    """
    system, role = get_system(request, slug, needs=needs)
    cycles = cycle_with_links(system.cycles.all()) if links else system.cycles.all()
    cycle = cycles.filter(number=number).first()
    if cycle is None:
        raise Http404("No such cycle.")
    if needs != Role.VIEWER and cycle.status == CycleStatus.CLOSED:
        raise PermissionDenied("This cycle is closed; its record stays as it was.")
    cycle.system = system
    return cycle, role


def get_parent(cycle: Cycle, kind: RowKind) -> models.Model:
    """The record that holds the cycle's rows of this kind (404 while it has none)."""
    parent = kind.parent(cycle)
    if parent is None:
        raise Http404(f"This cycle has nowhere to keep a {kind.bare_noun} yet.")
    return parent


def get_row(kind: RowKind, parent: models.Model, pk: int) -> models.Model:
    """The row `pk` of the list under `parent` (404 for any other list's row)."""
    row = kind.model.objects.filter(**{kind.parent_field: parent}, pk=pk).first()
    if row is None:
        raise Http404(f"No such {kind.bare_noun}.")
    return row
