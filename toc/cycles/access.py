from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from toc.accounts.models import Role
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.records import RowKind, cycle_with_links
from toc.systems.access import get_system

# The records a team writes to a cycle after it closes: the retrospective notes,
# from the meeting held once the cycle is done. Every other write to a closed
# cycle is refused; its record stays as it was.
WRITTEN_AFTER_CLOSING = frozenset({"lessons"})


def get_cycle(
    request: HttpRequest,
    slug: str,
    number: int,
    *,
    needs: Role = Role.VIEWER,
    links: bool | tuple[str, ...] = True,
    lock: bool = False,
    writes: str = "",
) -> tuple[Cycle, Role]:
    """The cycle, if the user's team may see it (404 otherwise).

    With `links`, every record and list of its chain comes with it, as pages
    that show the chain need; with the names of some (a kind's `selected`),
    those; without, each record is read when first used. A request about one
    record or row costs a fraction of the whole chain.

    With `lock` (inside a transaction), the cycle is read once no other write
    to it is running, and stays locked: writes to one cycle take turns, so one
    that found it open writes before it can be closed.

    A write (`needs` above a viewer) to a closed cycle is refused, unless
    `writes` names a record of WRITTEN_AFTER_CLOSING.
    """
    system, role = get_system(request, slug, needs=needs)
    cycles = system.cycles.all()
    if lock:
        cycles = cycles.select_for_update(of=("self",))
    if links is True:
        cycles = cycle_with_links(cycles)
    elif links:
        cycles = cycles.select_related(*links)
    cycle = cycles.filter(number=number).first()
    if cycle is None:
        raise Http404("No such cycle.")
    closed = cycle.status == CycleStatus.CLOSED
    if needs != Role.VIEWER and closed and writes not in WRITTEN_AFTER_CLOSING:
        raise PermissionDenied("This cycle is closed; its record stays as it was.")
    cycle.system = system
    return cycle, role


def get_parent(cycle: Cycle, kind: RowKind) -> models.Model:
    """The record that holds the cycle's rows of this kind (404 while it has none)."""
    parent = kind.parent_of(cycle)
    if parent is None:
        raise Http404(f"This cycle has nowhere to keep a {kind.bare_noun} yet.")
    return parent


def get_row(kind: RowKind, parent: models.Model, pk: int) -> models.Model:
    """The row `pk` of the list under `parent` (404 for any other list's row)."""
    row = kind.model._default_manager.filter(**{kind.parent: parent}, pk=pk).first()
    if row is None:
        raise Http404(f"No such {kind.bare_noun}.")
    return row
