"""A system's SLOs: its goal, kept while the constraint moves from stage to
stage, and the measured values bots post for the SLOs measured as typed.

Writes go through the browser's form and services (toc.api.common): viewers
read, editors change. A cycle keeps the SLOs as they stood when it opened and
closed (`slos_opened`, `slos_closed` on the cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import models, transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.common import (
    ByPosition,
    PageNumbers,
    bound_form,
    check_if_match,
    require_valid,
    tagged,
)
from toc.api.cycle_serializers import RowMoveSerializer, StrictSerializer
from toc.api.permissions import IsPerson
from toc.cycles.readings import MeasuredSlo, measure_slos
from toc.cycles.serializers import Reading, represent
from toc.metrics.ledger import ledger_response
from toc.metrics.models import SloBudget
from toc.systems import services
from toc.systems.access import get_slo, get_system
from toc.systems.forms import SloForm
from toc.systems.models import Indicator, MeasuredFrom, Slo, System

# The history reason of a value posted to …/measurements/, so that posting the
# same value again still counts as a measurement.
MEASUREMENT = "measurement"


class MeasurementSerializer(StrictSerializer):
    """One measured value of an SLO measured as typed, from the SLO's history."""

    value = serializers.FloatField(
        validators=Slo._meta.get_field("measured").validators
    )
    at = serializers.DateTimeField(read_only=True)
    by = serializers.CharField(read_only=True, allow_null=True)


class Evaluation(models.TextChoices):
    EVALUATED = "evaluated", "The worker's figures are given"
    PENDING = "pending", "Live; the worker has not evaluated it yet"
    NOT_EVALUATED = "not_evaluated", "PromQL, and the system reads no Prometheus"
    NOT_LIVE = "not_live", "No indicator toc reads, or no objective"


@dataclass(frozen=True)
class Derived:
    """What is read beside an SLO: the ledger's value now (the reading) and
    the error budget the worker last computed (metrics.SloBudget)."""

    reading: MeasuredSlo
    slo: Slo

    @property
    def live(self) -> bool:
        return self.reading.live

    @property
    def measured(self) -> float | None:
        return self.reading.measured

    @property
    def status(self) -> str | None:
        return self.reading.status

    @property
    def figures(self) -> SloBudget | None:
        return getattr(self.slo, "budget", None) if self.slo.is_live else None

    @property
    def evaluation(self) -> str:
        if not self.slo.is_live:
            return Evaluation.NOT_LIVE
        if self.slo.indicator == Indicator.PROMQL and not hasattr(
            self.slo.system, "prometheus"
        ):
            return Evaluation.NOT_EVALUATED
        return Evaluation.PENDING if self.figures is None else Evaluation.EVALUATED


class SloDerivedSerializer(Reading):
    """Read off the metrics, so left out of the ETag: it changes without
    anyone writing the SLO. A live SLO (an indicator toc reads and an
    objective) has the figures the worker computes every minute over its
    window; they are null until it has, and for an SLO that is not live."""

    live = serializers.BooleanField(
        help_text="Read off the ledger rather than typed in."
    )
    measured = serializers.FloatField(
        allow_null=True, help_text="The ledger's value for live SLOs."
    )
    status = serializers.ChoiceField(
        choices=["met", "violated", "unknown"], allow_null=True
    )
    evaluation = serializers.ChoiceField(choices=Evaluation.choices)
    compliance = serializers.FloatField(
        source="figures.compliance",
        allow_null=True,
        help_text="Good minutes (or events) over those with data in the window.",
    )
    error_budget_remaining = serializers.FloatField(
        source="figures.budget_remaining",
        allow_null=True,
        help_text="(compliance - objective) / (1 - objective): 1 untouched, "
        "0 spent, below 0 overspent.",
    )
    burn_rates = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        source="figures.burn_rates",
        allow_null=True,
        help_text="The bad share over the allowed bad share (1 - objective) "
        "over 5m, 30m, 1h, 2h, 6h, 1d and 3d; null where there was no data.",
    )
    alert = serializers.CharField(
        source="figures.alert",
        allow_null=True,
        help_text='"page", "ticket" or "", by the SRE workbook\'s multiwindow, '
        "multi-burn-rate rules.",
    )
    alert_since = serializers.DateTimeField(
        source="figures.alert_since", allow_null=True
    )
    window_start = serializers.DateTimeField(
        source="figures.window_start", allow_null=True
    )
    computed_at = serializers.DateTimeField(
        source="figures.computed_at", allow_null=True
    )

    def get_attribute(self, instance: Slo) -> Derived:
        return Derived(self.context["reading"], instance)


class SloSerializer(serializers.ModelSerializer):
    """An SLO: its fields as stored, its place in the list, and `derived`, what
    the browser shows beside it (a live SLO's value from the ledger now, and
    its error budget as the worker last computed it)."""

    derived = SloDerivedSerializer(read_only=True)

    class Meta:
        model = Slo
        fields = [
            "id",
            *SloForm.base_fields,
            "source",
            "openslo_name",
            "position",
            "derived",
        ]
        read_only_fields = ["position", "source", "openslo_name"]


def _represent(system: System, slos: list[Slo]) -> list[dict]:
    shown = measure_slos(slos, lambda: ledger_response(system))
    return [represent(SloSerializer, s.row, s.reading) for s in shown]


class SloList(generics.ListAPIView):
    """GET: the system's SLOs in their order. POST (editor): adds one at the
    end; 201 with the SLO."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    serializer_class = SloSerializer
    pagination_class = ByPosition

    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        page = self.paginate_queryset(system.slos.select_related("budget"))
        assert page is not None  # the view is paginated
        return self.get_paginated_response(_represent(system, page))

    @extend_schema(responses={201: SloSerializer})
    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        form = require_valid(bound_form(SloForm, request.data, system=system))
        slo = services.slo_create(system=system, form=form)
        response = tagged(_represent(system, [slo])[0], status=201)
        response["Location"] = request.build_absolute_uri(f"{slo.pk}/")
        return response


class SloDetail(APIView):
    """GET: one SLO, with its ETag. PUT (all fields), PATCH (some) and DELETE
    (editor): send `If-Match` with the ETag you read to get 412 instead of
    overwriting someone else's change."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH", "DELETE")

    permission_classes = [IsPerson]
    serializer_class = SloSerializer

    def get(self, request, slug: str, pk: int) -> Response:
        slo = get_slo(request, slug, pk, needs=Role.VIEWER)
        return tagged(_represent(slo.system, [slo])[0])

    def put(self, request, slug: str, pk: int, partial: bool = False) -> Response:
        with transaction.atomic():
            slo = self._locked(request, slug, pk)
            check_if_match(request, _represent(slo.system, [slo])[0])
            form = bound_form(SloForm, request.data, instance=slo, partial=partial)
            require_valid(form).save()
        return tagged(_represent(slo.system, [slo])[0])

    def patch(self, request, slug: str, pk: int) -> Response:
        return self.put(request, slug, pk, partial=True)

    def delete(self, request, slug: str, pk: int) -> Response:
        with transaction.atomic():
            slo = self._locked(request, slug, pk)
            check_if_match(request, _represent(slo.system, [slo])[0])
            services.slo_delete(slo=slo)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _locked(request, slug: str, pk: int) -> Slo:
        """The SLO, read once no other write to it is running, so that an
        If-Match check and the write it guards see the same row."""
        slo = get_slo(request, slug, pk, needs=Role.EDITOR)
        locked = Slo.objects.select_for_update().filter(pk=slo.pk).first()
        if locked is None:
            raise NotFound("No such SLO.")
        locked.system = slo.system
        return locked


class SloMove(APIView):
    """Moves the SLO one place up or down the system's list (editor); 200 with
    the SLO at its new place. The others close up around it."""

    answers_etag = ("POST",)
    permission_classes = [IsPerson]
    serializer_class = SloSerializer

    @extend_schema(request=RowMoveSerializer, responses=SloSerializer)
    def post(self, request, slug: str, pk: int) -> Response:
        slo = get_slo(request, slug, pk, needs=Role.EDITOR)
        body = RowMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        offset = {"up": -1, "down": 1}[body.validated_data["direction"]]
        if not services.slo_move(slo=slo, offset=offset):
            raise NotFound("No such SLO.")
        slo.refresh_from_db(fields=["position"])
        return tagged(_represent(slo.system, [slo])[0])


class SloMeasurements(generics.ListCreateAPIView):
    """The measured values of an SLO measured as typed, from its history.

    GET: each value the SLO was given (posted here, or typed in the browser),
    newest first, with when and by whom; page-numbered (`?page=2`), so a page
    shifts when a value is added. POST `{"value": 12.5}` (editor) sets the
    SLO's measured value; 201 with the measurement. An SLO read off the ledger
    (`measured_from` other than `typed`) takes no values: 400.
    """

    permission_classes = [IsPerson]
    serializer_class = MeasurementSerializer
    pagination_class = PageNumbers

    def get(self, request, slug: str, pk: int) -> Response:
        slo = get_slo(request, slug, pk, needs=Role.VIEWER)
        page = self.paginate_queryset(_measurements(slo))
        return self.get_paginated_response(MeasurementSerializer(page, many=True).data)

    def post(self, request, slug: str, pk: int) -> Response:
        slo = get_slo(request, slug, pk, needs=Role.EDITOR)
        body = MeasurementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if slo.measured_from != MeasuredFrom.TYPED:
            raise ValidationError(
                {
                    "value": f"This SLO is read off the ledger "
                    f"({slo.get_measured_from_display().lower()}); only SLOs "
                    "measured as typed take values."
                }
            )
        slo.measured = body.validated_data["value"]
        # Why and by whom, which simple-history reads off the instance on save.
        cast(Any, slo)._change_reason = MEASUREMENT
        cast(Any, slo)._history_user = request.user
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


urlpatterns = [
    path("systems/<slug:slug>/slos/", SloList.as_view(), name="slos"),
    path("systems/<slug:slug>/slos/<int:pk>/", SloDetail.as_view(), name="slo"),
    path("systems/<slug:slug>/slos/<int:pk>/move/", SloMove.as_view(), name="slo-move"),
    path(
        "systems/<slug:slug>/slos/<int:pk>/measurements/",
        SloMeasurements.as_view(),
        name="slo-measurements",
    ),
]
