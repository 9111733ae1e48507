"""A system's improvement cycles and each cycle's records, for scripts.

The browser's rules throughout: access through get_system/get_cycle (another
team's cycle is 404, a missing role 403, a closed cycle refuses writes with
403), the records' forms for validation, services for writes. Each record kind
of the registry (toc.cycles.records) has its route. The lists of a cycle's rows
are in cycle_rows.
"""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from toc.accounts.models import Role
from toc.api import cycle_rows
from toc.api.common import (
    bound_form,
    check_if_match,
    filters,
    require_valid,
    tagged,
)
from toc.api.cycle_rows import ROW_KINDS, list_url, locked_cycle
from toc.api.cycle_serializers import CycleLinks, CycleSerializer
from toc.api.permissions import IsPerson
from toc.api.schema import ErrorItemSerializer, query_parameters
from toc.cycles import services
from toc.cycles.access import get_cycle
from toc.cycles.chain import chain
from toc.cycles.forms import CycleForm, ReopenForm
from toc.cycles.models import Cycle
from toc.cycles.query_forms import HistoryFilterForm
from toc.cycles.readings import Shown
from toc.cycles.records import RECORDS, SAVED, RecordKind, cycle_with_links
from toc.cycles.serializers import represent
from toc.systems.access import get_system

# The step whose page holds each record's form.
RECORD_STEPS = {key: kind.step for key, kind in RECORDS.items()}


def _url(request, name: str, cycle: Cycle) -> str:
    return request.build_absolute_uri(
        reverse(name, args=[cycle.system.slug, cycle.number])
    )


def show(request, cycle: Cycle) -> dict:
    """A cycle fetched with cycle_with_links, as CycleSerializer shows it."""
    links = {
        "close": _url(request, "api:cycle-close", cycle),
        "records": {
            name: _url(request, f"api:cycle-{name}", cycle) for name in RECORD_STEPS
        },
        "lists": {key: list_url(request, cycle, key) for key in ROW_KINDS},
    }
    url = _url(request, "api:cycle", cycle)
    return dict(
        CycleSerializer(Shown(cycle, CycleLinks(url, chain(cycle), links))).data
    )


def _created(request, slug: str, number: int) -> Response:
    cycle, _ = get_cycle(request, slug, number)
    response = tagged(show(request, cycle), status=201)
    response["Location"] = response.data["url"]
    return response


class OpenCycleSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    url = serializers.URLField()


class InProgressSerializer(serializers.Serializer):
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # drf-stubs#78: a field named like a Serializer attribute
    open_cycle = OpenCycleSerializer(help_text="The cycle in progress.")


IN_PROGRESS = OpenApiResponse(
    InProgressSerializer,
    "Another cycle of the system is in progress (`open_cycle`); nothing changed. "
    "A system has one cycle in progress at a time: close that one first.",
)


def _in_progress(request, refused: services.CycleInProgress) -> Response:
    """409 in the one error shape, naming the open cycle for a script to follow."""
    running = refused.cycle
    return Response(
        {
            "errors": [{"field": None, "message": str(refused)}],
            "open_cycle": {
                "number": running.number,
                "url": _url(request, "api:cycle", running),
            },
        },
        status=409,
    )


class NewestCycleFirst(CursorPagination):
    ordering = ("-number",)


@extend_schema_view(
    get=extend_schema(parameters=query_parameters(HistoryFilterForm)),
    post=extend_schema(responses={201: CycleSerializer, 409: IN_PROGRESS}),
)
class CycleList(generics.ListCreateAPIView):
    """GET: the system's cycles, newest first, each with its chain (every step
    missing, draft or done, and what is left to do) and links to its records
    and lists. Filters: `status` (open, closed), `opened_from` and `opened_to`
    (days, YYYY-MM-DD, in UTC; both included).

    POST `{"title": …}` (editor): opens the next cycle with every record in
    place, the system's SLOs recorded as they stand (`slos_opened`), the
    standard rollout phases and the ledger's
    constraint chosen; 201 with the cycle. 409 while another cycle of the
    system is in progress, with that cycle's `number` and `url` in `open_cycle`.
    """

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    serializer_class = CycleSerializer
    pagination_class = NewestCycleFirst

    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        wanted = filters(HistoryFilterForm, request)
        cycles = cycle_with_links(system.cycles.select_related("created_by"))
        if wanted["status"]:
            cycles = cycles.filter(status=wanted["status"])
        if wanted["opened_from"]:
            cycles = cycles.filter(created__date__gte=wanted["opened_from"])
        if wanted["opened_to"]:
            cycles = cycles.filter(created__date__lte=wanted["opened_to"])
        page = self.paginate_queryset(cycles)
        assert page is not None  # the view is paginated
        return self.get_paginated_response([show(request, c) for c in page])

    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        form = require_valid(bound_form(CycleForm, request.data))
        try:
            cycle = services.cycle_open(
                system=system, title=form.cleaned_data["title"], user=request.user
            )
        except services.CycleInProgress as refused:
            return _in_progress(request, refused)
        return _created(request, slug, cycle.number)


class CycleDetail(generics.GenericAPIView):
    """One cycle, with its chain and links, and its ETag."""

    answers_etag = ("GET",)
    permission_classes = [IsPerson]
    serializer_class = CycleSerializer

    def get(self, request, slug: str, number: int) -> Response:
        cycle, _ = get_cycle(request, slug, number)
        return tagged(show(request, cycle))


@extend_schema(request=None, responses={201: CycleSerializer})
class CycleClose(generics.GenericAPIView):
    """Closes the cycle and opens the next one, starting from the current ledger
    (editor). 201 with the next cycle; a closed cycle is 403, so a repeated
    request opens no second cycle. No body (one sent is not read).

    Unlike the page, this does not ask first: the steps a close would leave
    unfinished are those of the cycle's `chain` (GET the cycle) whose `state`
    is not `done`, each with its `todo`; read them first to warn someone. A
    team admin can reopen a closed cycle (…/reopen/)."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    serializer_class = CycleSerializer

    def post(self, request, slug: str, number: int) -> Response:
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            following = services.cycle_close_and_continue(
                cycle=cycle, user=request.user
            )
        return _created(request, slug, following.number)


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why the cycle is reopened; kept in its trail."
    )


@extend_schema(
    request=ReopenSerializer,
    responses={200: CycleSerializer, 409: IN_PROGRESS},
)
class CycleReopen(generics.GenericAPIView):
    """Puts a closed cycle back in progress (team admin), with `reason` in its
    audit trail; 200 with the cycle. 409 while another cycle of the system is
    in progress (`open_cycle` names it); a cycle already in progress is 409
    too, naming itself."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    serializer_class = CycleSerializer

    def post(self, request, slug: str, number: int) -> Response:
        cycle, role = get_cycle(request, slug, number, links=False)
        if role != Role.ADMIN:
            raise PermissionDenied("Only a team admin can reopen a cycle.")
        form = require_valid(bound_form(ReopenForm, request.data))
        try:
            services.cycle_reopen(
                cycle=cycle, reason=form.cleaned_data["reason"], user=request.user
            )
        except services.CycleNotClosed:
            return _in_progress(request, services.CycleInProgress(cycle))
        except services.CycleInProgress as refused:
            return _in_progress(request, refused)
        cycle, _ = get_cycle(request, slug, number)
        return tagged(show(request, cycle))


class CycleRecord(generics.GenericAPIView):
    """GET: the record, with its ETag; text not filled is "". PUT (every
    writable field) or PATCH (some; the rest keep their values) (editor, open
    cycle; the retrospective notes, `lessons`, closed too): validated like the
    browser's form; 200 with the record. Send
    `If-Match` with the ETag you read to get 412 instead of overwriting someone
    else's change."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH")

    permission_classes = [IsPerson]
    kind: RecordKind

    def get(self, request, slug: str, number: int) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=self.kind.selected)
        return tagged(self._represent(cycle, self.kind.instance(cycle)))

    def put(self, request, slug: str, number: int) -> Response:
        return self._save(request, slug, number, partial=False)

    def patch(self, request, slug: str, number: int) -> Response:
        return self._save(request, slug, number, partial=True)

    def _represent(self, cycle: Cycle, instance) -> dict:
        if instance is None:
            raise Http404(f"This cycle has no {self.kind.key} yet; PUT one.")
        reading = self.kind.reading(cycle, instance)
        return represent(self.kind.serializer, instance, reading)

    def _save(self, request, slug: str, number: int, *, partial: bool) -> Response:
        body = request.data
        kind = self.kind
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number, writes=kind.key)
            instance = kind.instance(cycle)
            if instance is not None or partial:
                check_if_match(request, self._represent(cycle, instance))
            form = require_valid(
                bound_form(
                    kind.form,
                    body,
                    instance=instance,
                    partial=partial,
                    **kind.form_kwargs(cycle),
                )
            )
            saved = services.record_save(
                cycle=cycle, name=kind.key, form=form, user=request.user
            )
        status = 201 if instance is None else 200
        return tagged(self._represent(cycle, saved), status=status)


def _record_view(kind: RecordKind):
    doc = CycleRecord.__doc__ or ""
    if kind.made == SAVED:
        doc += (
            f"\n\nThe {kind.noun} does not exist until its first PUT "
            "(201): GET and PATCH are 404 until then."
        )
    if kind.key == "validation":
        doc += (
            " `derived` is its verdict, "
            "read off the ingested metrics: whether system throughput rose while "
            "the stage had more capacity. It is read-only and not part of the ETag."
        )
    # type() makes a subclass of CycleRecord, which the checker sees as a bare type.
    view = cast(
        type[CycleRecord],
        type(
            f"{kind.key.capitalize()}Record",
            (CycleRecord,),
            {"kind": kind, "serializer_class": kind.serializer, "__doc__": doc},
        ),
    )
    if kind.made == SAVED:
        serializer = kind.serializer
        view = extend_schema_view(
            put=extend_schema(responses={200: serializer, 201: serializer})
        )(view)
    return view.as_view()


urlpatterns = [
    path("systems/<slug:slug>/cycles/", CycleList.as_view(), name="cycles"),
    path(
        "systems/<slug:slug>/cycles/<int:number>/",
        CycleDetail.as_view(),
        name="cycle",
    ),
    path(
        "systems/<slug:slug>/cycles/<int:number>/close/",
        CycleClose.as_view(),
        name="cycle-close",
    ),
    path(
        "systems/<slug:slug>/cycles/<int:number>/reopen/",
        CycleReopen.as_view(),
        name="cycle-reopen",
    ),
    *(
        path(
            f"systems/<slug:slug>/cycles/<int:number>/{key}/",
            _record_view(kind),
            name=f"cycle-{key}",
        )
        for key, kind in RECORDS.items()
    ),
    *cycle_rows.urlpatterns,
]
