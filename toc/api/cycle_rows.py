"""The lists of a cycle's records (whys, assumptions, tiers, criteria, phases,
outcome rows).

The rows are the browser's (records.ROWS): same forms, same services. The
feature registry belongs to a stage and has its own endpoint under stages; the
SLOs belong to the system (api/slos.py).
"""

from __future__ import annotations

from typing import cast

from django.db import models, transaction
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.common import bound_form, check_if_match, require_valid, tagged
from toc.api.cycle_serializers import RowMoveSerializer
from toc.api.permissions import IsPerson
from toc.cycles import services
from toc.cycles.access import get_cycle, get_parent, get_row
from toc.cycles.models import Cycle
from toc.cycles.records import ROWS, RowKind
from toc.cycles.serializers import represent

# A stage's shared rows (features) have their own endpoint under stages.
ROW_KINDS = {key: kind for key, kind in ROWS.items() if not kind.shared}
CYCLE = "systems/<slug:slug>/cycles/<int:number>/"


def locked_cycle(request, slug: str, number: int, writes: str = "") -> Cycle:
    """For a write, inside a transaction: the cycle (editor only, open only but
    for a record `writes` names that access.WRITTEN_AFTER_CLOSING lets through),
    read once no other write to it is running.

    Writes to one cycle take turns, so an If-Match check and the write it guards
    see the same record, and a double close opens one next cycle.
    """
    cycle, _ = get_cycle(
        request,
        slug,
        number,
        needs=Role.EDITOR,
        links=False,
        lock=True,
        writes=writes,
    )
    return cycle


def list_url(request, cycle: Cycle, key: str) -> str:
    return request.build_absolute_uri(
        reverse(f"api:cycle-{key}", args=[cycle.system.slug, cycle.number])
    )


def _represent(kind: RowKind, rows: list[models.Model]) -> list[dict]:
    """The rows with what the browser shows beside them as `derived`; the rows'
    own fields as stored."""
    shown = kind.show(rows)
    return [represent(kind.serializer, s.row, s.reading) for s in shown]


class RowList(generics.ListCreateAPIView):
    """GET: the cycle's rows of this list, in their order. POST (editor, open
    cycle): adds a row at the end; 201 with the row."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    kind: RowKind

    def get(self, request, slug: str, number: int) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=self.kind.selected)
        parent = get_parent(cycle, self.kind)
        rows = self.kind.model._default_manager.filter(**{self.kind.parent: parent})
        page = self.paginate_queryset(rows)
        assert page is not None  # the view is paginated
        return self.get_paginated_response(_represent(self.kind, page))

    def post(self, request, slug: str, number: int) -> Response:
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            parent = get_parent(cycle, self.kind)
            form = require_valid(bound_form(self.kind.form, request.data))
            row = services.row_create(kind=self.kind, parent=parent, form=form)
        response = tagged(_represent(self.kind, [row])[0], status=201)
        response["Location"] = f"{list_url(request, cycle, self.kind.key)}{row.pk}/"
        return response


class RowDetail(generics.GenericAPIView):
    """GET: one row, with its ETag. PUT (all fields) or PATCH (some), and DELETE
    (editor, open cycle): send `If-Match` with the ETag you read to get 412
    instead of overwriting someone else's change."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH", "DELETE")

    permission_classes = [IsPerson]
    kind: RowKind

    def get(self, request, slug: str, number: int, pk: int) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=self.kind.selected)
        row = get_row(self.kind, get_parent(cycle, self.kind), pk)
        return tagged(_represent(self.kind, [row])[0])

    def put(self, request, slug: str, number: int, pk: int) -> Response:
        return self._edit(request, slug, number, pk, partial=False)

    def patch(self, request, slug: str, number: int, pk: int) -> Response:
        return self._edit(request, slug, number, pk, partial=True)

    def _edit(self, request, slug: str, number: int, pk: int, *, partial: bool):
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            row = get_row(self.kind, get_parent(cycle, self.kind), pk)
            check_if_match(request, _represent(self.kind, [row])[0])
            form = bound_form(
                self.kind.form, request.data, instance=row, partial=partial
            )
            require_valid(form).save()
        return tagged(_represent(self.kind, [row])[0])

    def delete(self, request, slug: str, number: int, pk: int) -> Response:
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            parent = get_parent(cycle, self.kind)
            row = get_row(self.kind, parent, pk)
            check_if_match(request, _represent(self.kind, [row])[0])
            services.row_delete(cycle=cycle, kind=self.kind, parent=parent, row=row)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RowMove(generics.GenericAPIView):
    """Moves the row one place up or down its list (editor, open cycle); 200 with
    the row at its new position. The other rows close up around it."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    kind: RowKind

    def post(self, request, slug: str, number: int, pk: int) -> Response:
        # Who may move it first: the body of a stranger's request is not read.
        get_cycle(request, slug, number, needs=Role.EDITOR, links=False)
        body = RowMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        offset = {"up": -1, "down": 1}[body.validated_data["direction"]]
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            parent = get_parent(cycle, self.kind)
            if not services.row_move(
                kind=self.kind, parent=parent, pk=pk, offset=offset
            ):
                raise Http404(f"No such {self.kind.bare_noun}.")
            row = get_row(self.kind, parent, pk)
        return tagged(_represent(self.kind, [row])[0])


def _for_kind(view: type[APIView], kind: RowKind, suffix: str):
    ordering = (
        ("position", "id") if kind.ordered else tuple(kind.model._meta.ordering or ())
    )
    pages = type(
        f"{kind.model.__name__}Pages", (CursorPagination,), {"ordering": ordering}
    )
    attrs = {
        "kind": kind,
        "serializer_class": kind.serializer,
        "pagination_class": pages,
        "__doc__": f"The cycle's {kind.key.replace('-', ' ')}. {view.__doc__}",
    }
    # type() makes a subclass of `view`, which the checker sees as a bare type.
    cls = cast(type[APIView], type(f"{kind.model.__name__}{suffix}", (view,), attrs))
    if view is RowMove:
        # Like a stage's move: the body names the direction, the answer is what
        # moved (here the row, there the stages in their new order).
        cls = extend_schema(request=RowMoveSerializer, responses=kind.serializer)(cls)
    return cls.as_view()


urlpatterns = []
for key, kind in ROW_KINDS.items():
    urlpatterns += [
        path(f"{CYCLE}{key}/", _for_kind(RowList, kind, "List"), name=f"cycle-{key}"),
        path(
            f"{CYCLE}{key}/<int:pk>/",
            _for_kind(RowDetail, kind, "Detail"),
            name=f"cycle-{key}-row",
        ),
    ]
    if kind.ordered:
        urlpatterns.append(
            path(
                f"{CYCLE}{key}/<int:pk>/move/",
                _for_kind(RowMove, kind, "Move"),
                name=f"cycle-{key}-move",
            )
        )
