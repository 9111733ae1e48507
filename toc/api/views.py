from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.answers import (
    AcceptedSerializer,
    LedgerSerializer,
    SampleBatchSerializer,
    SeriesSerializer,
)
from toc.api.common import ByName, NewestFirst, time_param
from toc.api.permissions import IngestThrottle, IsIngestKey, IsPerson
from toc.api.renderers import NumbersRenderer
from toc.api.schema import ErrorSerializer
from toc.api.serializers import ConstraintEventSerializer, SystemSerializer
from toc.lib.replica import replica_reads
from toc.metrics.ingest import (
    MAX_BODY_BYTES,
    BatchInvalid,
    ingest_stages,
    parse_batch,
    samples_store,
    validate_batch,
)
from toc.metrics.ledger import ledger_response
from toc.metrics.models import ConstraintEvent, SystemLedger
from toc.metrics.series import stage_series
from toc.systems import services
from toc.systems.access import get_system
from toc.systems.models import IngestKey, System


@extend_schema(
    # The view parses the body itself (no parser classes), so name its type here.
    request={"application/json": SampleBatchSerializer},
    responses={
        202: AcceptedSerializer,
        400: OpenApiResponse(
            ErrorSerializer, description="Every bad item, by index and field."
        ),
        413: OpenApiResponse(ErrorSerializer, description="The body is over 5 MB."),
    },
)
class SampleIngest(APIView):
    """Accepts a batch of stage samples: all stored, or none with every error listed.

    Send an ingest key of this system, or a personal token of an editor. The 202
    comes after the samples are committed; resending a sample with the same stage
    and `ts` stores nothing twice.
    """

    permission_classes = [IsIngestKey | IsPerson]
    throttle_classes = [IngestThrottle]
    parser_classes = []

    def post(self, request, slug: str) -> Response:
        system = self._system(request, slug)
        try:
            declared = int(request.headers.get("Content-Length") or 0)
            body = b"" if declared > MAX_BODY_BYTES else request.body
        except (ValueError, RequestDataTooBig):
            declared = MAX_BODY_BYTES + 1
        if declared > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
            return Response(
                {
                    "errors": [
                        {
                            "field": None,
                            "message": f"The body is over {MAX_BODY_BYTES} bytes; "
                            "send smaller batches.",
                        }
                    ]
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            items = parse_batch(body)
            stages = ingest_stages(system)
            batch = validate_batch(
                items, stages.ids, timezone.now(), capacities=stages.capacities
            )
        except BatchInvalid as invalid:
            return Response(
                {"errors": [error.as_dict() for error in invalid.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        samples_store(system=system, batch=batch)
        return Response(
            {"accepted": batch.sample_count}, status=status.HTTP_202_ACCEPTED
        )

    def _system(self, request, slug: str) -> System:
        if isinstance(request.auth, IngestKey):
            # A key of another system learns nothing about this one.
            if request.auth.system.slug != slug:
                raise Http404("No such system.")
            return request.auth.system
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        return system


@extend_schema(responses=LedgerSerializer)
class Ledger(APIView):
    """The constraint ledger as last computed: each stage's capacity, load,
    utilization, queue and headroom over the window, the constraint and why."""

    permission_classes = [IsPerson]

    @replica_reads
    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        return Response(ledger_response(system))


MAX_SERIES_RANGE = timedelta(days=2)


@extend_schema(
    parameters=[
        OpenApiParameter("from", OpenApiTypes.DATETIME),
        OpenApiParameter("to", OpenApiTypes.DATETIME),
    ],
    responses=SeriesSerializer,
)
class Series(APIView):
    """Per-minute load, capacity, utilization, queue and latency of every stage.

    `from` and `to` are ISO 8601 times; by default the last 24 hours of sample
    time. At most two days per request.
    """

    permission_classes = [IsPerson]
    renderer_classes = [NumbersRenderer]

    @replica_reads
    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        stages = list(system.stages.all())
        # Rollups exist up to the last processed sample, which the ledger keeps.
        processed = (
            SystemLedger.objects.filter(system=system)
            .values_list("window_end", flat=True)
            .first()
        )
        end = time_param(request, "to") or (
            (processed or timezone.now()) + timedelta(minutes=1)
        )
        start = time_param(request, "from") or end - timedelta(days=1)
        if not start < end <= start + MAX_SERIES_RANGE:
            raise ValidationError(
                {"from": "`from` must be before `to`, at most two days apart."}
            )
        return Response(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "resolution_s": 60,
                **stage_series(stages, start, end),
            }
        )


@extend_schema(
    parameters=[
        OpenApiParameter(
            "from", OpenApiTypes.DATETIME, description="Moves at or after."
        ),
        OpenApiParameter("to", OpenApiTypes.DATETIME, description="Moves before."),
    ]
)
class ConstraintEventList(generics.ListAPIView):
    """Each time the constraint moved, newest first: when, from which stage to
    which (null: outside the pipeline), and why."""

    permission_classes = [IsPerson]
    serializer_class = ConstraintEventSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        system, _ = get_system(self.request, self.kwargs["slug"])
        events = ConstraintEvent.objects.filter(system=system)
        start = time_param(self.request, "from")
        end = time_param(self.request, "to")
        if start:
            events = events.filter(at__gte=start)
        if end:
            events = events.filter(at__lt=end)
        return events


class SystemList(generics.ListCreateAPIView):
    """The systems of your teams, by name; POST creates one with its stages in
    pipeline order (editors of the team)."""

    permission_classes = [IsPerson]
    serializer_class = SystemSerializer
    pagination_class = ByName

    def get_queryset(self):
        return (
            System.objects.for_user(self.request.user)
            .select_related("team")
            .prefetch_related("stages")
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        try:
            with transaction.atomic():
                serializer.instance = services.system_create(
                    team=data["team"],
                    name=data["name"],
                    slug=data["slug"],
                    description=data.get("description", ""),
                    stages=[(s["name"], s["slug"]) for s in data.get("stages", [])],
                )
        except IntegrityError:
            # Another request took the slug after it was validated: validated
            # again, it is the usual 400 on `slug`.
            serializer.run_validation(serializer.initial_data)
            raise
