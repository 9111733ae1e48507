"""A cycle told whole, for scripts: its exports, its retrospective (now or as it
stood at a moment) and its audit trail.

Each reads what the pages read: the snapshot (toc.cycles.retro) behind the
retrospective page and both exports, and the trail (toc.cycles.trail) behind
the trail page; records and rows are shown as the record endpoints show them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from django.http import Http404, HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.api.answers import CycleExportSerializer, ExportedCycleSerializer
from toc.api.common import ErrorsInJson, PageNumbers, in_utc, require_valid, tagged
from toc.api.permissions import IsPerson
from toc.cycles import export
from toc.cycles.access import get_cycle
from toc.cycles.models import Cycle
from toc.cycles.query_forms import AsOfForm
from toc.cycles.records import RECORDS, ROWS, STEPS
from toc.cycles.retro import (
    NotYetRecorded,
    Snapshot,
    sections,
    snapshot_as_of,
    snapshot_now,
)
from toc.cycles.serializers import represent
from toc.cycles.trail import ACTIONS, entries, trail

CYCLE = "systems/<slug:slug>/cycles/<int:number>/"

AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="The cycle as it stood then, from its history: a day "
    "(YYYY-MM-DD, meaning its end) or an ISO 8601 time (UTC without an "
    "offset). Left out: as it stands now.",
)


def as_of_param(request) -> datetime | None:
    """`?as_of=`, read as the retrospective page reads it, then in UTC (which
    PostgreSQL needs: it refuses offsets beyond ±15:59)."""
    raw = request.query_params.get("as_of")
    if raw is None:
        return None
    form = require_valid(AsOfForm({"as_of": raw}))
    return in_utc(form.cleaned_data["as_of"], "as_of")


def _snapshot(request, slug: str, number: int) -> Snapshot:
    cycle, _ = get_cycle(request, slug, number)
    when = as_of_param(request)
    if when is None:
        return snapshot_now(cycle)
    try:
        return snapshot_as_of(cycle, when)
    except NotYetRecorded as gap:
        raise Http404(_not_recorded(cycle, when, gap)) from None


def _not_recorded(cycle: Cycle, when: datetime, gap: NotYetRecorded) -> str:
    """What the retrospective page's banner says, as the 404's message."""
    if gap.created > when:
        return (
            f"Cycle {cycle.number} did not exist yet then; it was opened on "
            f"{_minute(gap.created)}. Ask for a later time."
        )
    if gap.first:
        return (
            f"No history of cycle {cycle.number} reaches back that far; its "
            f"trail starts on {_minute(gap.first)}. Ask for a later time."
        )
    return (
        f"Cycle {cycle.number} has no recorded history: it was opened before the "
        "audit trail was kept. Leave as_of out to see it as it stands."
    )


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class Export(APIView):
    """Base of the two exports: the same snapshot, written as one file."""

    permission_classes = [IsPerson]
    content_negotiation_class = ErrorsInJson
    extension: str
    media_type: str
    write: ClassVar[Callable[[Snapshot], str]]

    def get(self, request, slug: str, number: int) -> HttpResponse:
        snapshot = _snapshot(request, slug, number)
        response = HttpResponse(
            type(self).write(snapshot), content_type=self.media_type
        )
        response["Content-Disposition"] = content_disposition_header(
            True, export.filename(snapshot, self.extension)
        )
        return response


@extend_schema(parameters=[AS_OF], responses={(200, "text/markdown"): OpenApiTypes.STR})
class MarkdownExport(Export):
    """The cycle as a Markdown file, to read and archive: the retrospective's
    steps in order, as the export button of the retrospective page writes it."""

    extension = "md"
    media_type = "text/markdown; charset=utf-8"
    write = export.as_markdown


@extend_schema(parameters=[AS_OF], responses={200: CycleExportSerializer})
class JsonExport(Export):
    """The cycle as a JSON file for programs (format "toc-cycle", version 2),
    as the export button of the retrospective page writes it. Its keys are
    stable; a change that removes or renames one gets a new version."""

    extension = "json"
    media_type = "application/json"
    write = export.as_json


# The retrospective: its steps as the page heads them, each record and list as
# the record endpoints show it.


class RetroStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    step = serializers.ChoiceField(choices=list(STEPS))
    title = serializers.CharField()
    recorded = serializers.BooleanField(
        help_text="False: the step's own record was not there yet (as of then)."
    )


RetroRecordsSerializer = type(
    "RetroRecordsSerializer",
    (serializers.Serializer,),
    {
        key: kind.serializer(
            allow_null=True, help_text=f"As …/cycles/N/{key}/ shows it; null: none."
        )
        for key, kind in RECORDS.items()
    },
)
RetroListsSerializer = type(
    "RetroListsSerializer",
    (serializers.Serializer,),
    {
        key: kind.serializer(many=True, help_text=f"As …/cycles/N/{key}/ lists them.")
        for key, kind in ROWS.items()
        if not kind.shared
    },
)


class RetrospectiveSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="The moment shown; null: now."
    )
    cycle = ExportedCycleSerializer()
    steps = RetroStepSerializer(many=True)
    records = RetroRecordsSerializer()
    lists = RetroListsSerializer()
    verdict = serializers.ChoiceField(
        choices=["passed", "failed", "incomplete"],
        help_text="What the experiment's success criteria say together.",
    )
    stage_names = serializers.DictField(
        child=serializers.CharField(),
        help_text="The name of each stage the records name by slug.",
    )


def retrospective(snapshot: Snapshot) -> dict:
    """`snapshot` as RetrospectiveSerializer describes it; its records and rows
    as the record endpoints show them (so not passed through it again)."""
    cycle = snapshot.cycle
    as_of = snapshot.as_of
    return {
        "as_of": serializers.DateTimeField().to_representation(as_of)
        if as_of
        else None,
        "cycle": ExportedCycleSerializer(
            {
                "number": cycle.number,
                "title": cycle.title,
                "status": cycle.status,
                "created": cycle.created,
                "created_by": cycle.created_by.get_username()
                if cycle.created_by
                else None,
                "closed_at": cycle.closed_at,
            }
        ).data,
        "steps": [
            {
                "number": section.number,
                "step": section.key,
                "title": section.title,
                "recorded": section.present,
            }
            for section in sections(snapshot)
        ],
        "records": {key: _record(snapshot, key) for key in RECORDS},
        "lists": {
            key: [
                represent(kind.serializer, shown.row, shown.reading)
                for shown in snapshot.rows[kind.name]
            ]
            for key, kind in ROWS.items()
            if not kind.shared
        },
        "verdict": snapshot.verdict,
        "stage_names": snapshot.stage_names,
    }


def _record(snapshot: Snapshot, key: str) -> dict | None:
    kind = RECORDS[key]
    record = snapshot.records[kind.link]
    if record is None:
        return None
    return represent(kind.serializer, record, snapshot.readings.get(key))


@extend_schema(parameters=[AS_OF])
class Retrospective(generics.GenericAPIView):
    """The whole chain of the cycle in one answer, as the retrospective page
    shows it: now, or with `as_of` as it stood then (each record as last saved
    before it; rows added later are left out). 404 when the cycle's history
    does not reach back that far. Its ETag changes with anything shown,
    `derived` values included."""

    permission_classes = [IsPerson]
    serializer_class = RetrospectiveSerializer
    answers_etag = ("GET",)

    def get(self, request, slug: str, number: int) -> Response:
        snapshot = _snapshot(request, slug, number)
        return tagged(retrospective(snapshot))


# The audit trail


class TrailChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field as the form labels it.")
    old = serializers.CharField(help_text='As people read it; "" when empty.')
    new = serializers.CharField(help_text='As people read it; "" when empty.')


class TrailEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField(
        help_text='The username; "" when no one was signed in (a command).'
    )
    action = serializers.ChoiceField(choices=list(ACTIONS.values()))
    record = serializers.CharField(help_text="What changed: the problem, a why, …")
    title = serializers.CharField(
        help_text="The row's title (a why's answer); \"\" for a record."
    )
    changes = TrailChangeSerializer(
        many=True,
        help_text="Each field changed, or set when the row was created.",
    )


class Trail(generics.ListAPIView):
    """Who changed which of the cycle's records, when, and how: every entry of
    the trail page, newest first, page-numbered (`?page=2`). It includes the
    changes to the constraint stage's features made while the cycle was open."""

    permission_classes = [IsPerson]
    serializer_class = TrailEntrySerializer
    pagination_class = PageNumbers

    def get(self, request, slug: str, number: int) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=False)
        page = self.paginate_queryset(trail(cycle))
        assert page is not None  # the view is paginated
        shown = TrailEntrySerializer(entries(page), many=True)
        return self.get_paginated_response(shown.data)


urlpatterns = [
    path(f"{CYCLE}export.md", MarkdownExport.as_view(), name="cycle-export-md"),
    path(f"{CYCLE}export.json", JsonExport.as_view(), name="cycle-export-json"),
    path(f"{CYCLE}retrospective/", Retrospective.as_view(), name="cycle-retrospective"),
    path(f"{CYCLE}trail/", Trail.as_view(), name="cycle-trail"),
]
