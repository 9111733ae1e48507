"""The lists of a cycle's records (SLOs, whys, assumptions, tiers, criteria,
phases, outcome rows) and the measurements of typed SLOs.

The rows are the browser's (records.ROWS): same forms, same services. The
feature registry belongs to a stage and has its own endpoint under stages.
"""

from __future__ import annotations

from django.db import models, transaction
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response

from toc.accounts.models import Role
from toc.api.common import bound_form, check_if_match, require_valid, tagged
from toc.api.cycle_serializers import MeasurementSerializer, RowMoveSerializer
from toc.api.permissions import IsPerson
from toc.cycles import services
from toc.cycles.access import get_cycle, get_parent, get_row
from toc.cycles.models import Cycle, MeasuredFrom, Slo
from toc.cycles.records import ROWS, RowKind
from toc.cycles.serializers import represent
from toc.metrics.ledger import ledger_response

# A stage's shared rows (features) have their own endpoint under stages.
ROW_KINDS = {key: kind for key, kind in ROWS.items() if not kind.shared}
CYCLE = "systems/<slug:slug>/cycles/<int:number>/"
# The history reason of a value posted to …/measurements/, so that posting the
# same value again still counts as a measurement.
MEASUREMENT = "measurement"


def locked_cycle(request, slug: str, number: int) -> Cycle:
    """For a write, inside a transaction: the cycle (editor only, open only),
    read once no other write to it is running.

    Writes to one cycle take turns, so an If-Match check and the write it guards
    see the same record, and a double close opens one next cycle.
    """
    cycle, _ = get_cycle(
        request, slug, number, needs=Role.EDITOR, links=False, lock=True
    )
    return cycle


def list_url(request, cycle: Cycle, key: str) -> str:
    return request.build_absolute_uri(
        reverse(f"api:cycle-{key}", args=[cycle.system.slug, cycle.number])
    )


def _represent(cycle: Cycle, kind: RowKind, rows: list[models.Model]) -> list[dict]:
    """The rows with what the browser shows beside them as `derived` (an SLO's
    from the live ledger); the rows' own fields as stored."""
    shown = kind.show(rows, lambda: ledger_response(cycle.system))
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
        rows = self.kind.model.objects.filter(**{self.kind.parent: parent})
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(_represent(cycle, self.kind, page))

    def post(self, request, slug: str, number: int) -> Response:
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            parent = get_parent(cycle, self.kind)
            form = require_valid(bound_form(self.kind.form, request.data))
            row = services.row_create(kind=self.kind, parent=parent, form=form)
        response = tagged(_represent(cycle, self.kind, [row])[0], status=201)
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
        return tagged(_represent(cycle, self.kind, [row])[0])

    def put(self, request, slug: str, number: int, pk: int) -> Response:
        return self._edit(request, slug, number, pk, partial=False)

    def patch(self, request, slug: str, number: int, pk: int) -> Response:
        return self._edit(request, slug, number, pk, partial=True)

    def _edit(self, request, slug: str, number: int, pk: int, *, partial: bool):
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            row = get_row(self.kind, get_parent(cycle, self.kind), pk)
            check_if_match(request, _represent(cycle, self.kind, [row])[0])
            form = bound_form(
                self.kind.form, request.data, instance=row, partial=partial
            )
            require_valid(form).save()
        return tagged(_represent(cycle, self.kind, [row])[0])

    def delete(self, request, slug: str, number: int, pk: int) -> Response:
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            parent = get_parent(cycle, self.kind)
            row = get_row(self.kind, parent, pk)
            check_if_match(request, _represent(cycle, self.kind, [row])[0])
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
        return tagged(_represent(cycle, self.kind, [row])[0])


class NewestMeasurementFirst(PageNumberPagination):
    page_size_query_param = None

    def get_page_number(self, request, paginator) -> str | int:
        # DRF reads an empty ?page= as page 1; the schema says a page is a number.
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: "A page is a number."})
        return super().get_page_number(request, paginator)


class SloMeasurements(generics.ListCreateAPIView):
    """The measured values of a typed SLO, from its history.

    GET: each value the SLO was given (posted here, or typed in the browser),
    newest first, with when and by whom; page-numbered (`?page=2`), so a page
    shifts when a value is added. POST `{"value": 12.5}` (editor, open cycle)
    sets the SLO's measured value; 201 with the measurement. An SLO read off the
    ledger (`measured_from` other than `typed`) takes no values: 400.
    """

    permission_classes = [IsPerson]
    serializer_class = MeasurementSerializer
    pagination_class = NewestMeasurementFirst

    def get(self, request, slug: str, number: int, pk: int) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=False)
        slo = get_row(ROW_KINDS["slos"], cycle, pk)
        page = self.paginate_queryset(_measurements(slo))
        return self.get_paginated_response(MeasurementSerializer(page, many=True).data)

    def post(self, request, slug: str, number: int, pk: int) -> Response:
        get_cycle(request, slug, number, needs=Role.EDITOR, links=False)
        body = MeasurementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            slo = get_row(ROW_KINDS["slos"], cycle, pk)
            if slo.measured_from != MeasuredFrom.TYPED:
                raise ValidationError(
                    {
                        "value": f"This SLO is read off the ledger "
                        f"({slo.get_measured_from_display().lower()}); only SLOs "
                        "measured as typed take values."
                    }
                )
            slo.measured = body.validated_data["value"]
            slo._change_reason = MEASUREMENT
            slo._history_user = request.user
            slo.save(update_fields=["measured"])
        return Response(MeasurementSerializer(_measurements(slo)[0]).data, status=201)


def _measurements(slo: Slo) -> list[dict]:
    """The versions of the SLO that gave it a value: posted here, or a change."""
    versions = slo.history.order_by("history_date", "history_id").values_list(
        "measured", "history_date", "history_user__username", "history_change_reason"
    )
    found, previous = [], None
    for value, at, by, reason in versions:
        if value is not None and (reason == MEASUREMENT or value != previous):
            found.append({"value": value, "at": at, "by": by})
        previous = value
    return found[::-1]


def _for_kind(view: type, kind: RowKind, suffix: str):
    ordering = ("position", "id") if kind.ordered else tuple(kind.model._meta.ordering)
    pages = type(
        f"{kind.model.__name__}Pages", (CursorPagination,), {"ordering": ordering}
    )
    attrs = {
        "kind": kind,
        "serializer_class": kind.serializer,
        "pagination_class": pages,
        "__doc__": f"The cycle's {kind.key.replace('-', ' ')}. {view.__doc__}",
    }
    cls = type(f"{kind.model.__name__}{suffix}", (view,), attrs)
    if view is RowMove:
        # Like a stage's move: the body names the direction, the answer is what
        # moved (here the row, there the stages in their new order).
        cls = extend_schema(request=RowMoveSerializer, responses=kind.serializer)(cls)
    return cls.as_view()


urlpatterns = [
    path(
        f"{CYCLE}slos/<int:pk>/measurements/",
        SloMeasurements.as_view(),
        name="cycle-slo-measurements",
    ),
]
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
