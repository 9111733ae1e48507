"""Stateless calculators: what-if, Little's law and cascade. They store nothing;
the numbers come from toc.analysis, as on the cycle pages."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.analysis import CascadeTier, LedgerRow, decision_budget, plan_cascade, what_if
from toc.api.answers import (
    CascadePlanSerializer,
    DecisionBudgetSerializer,
    WhatIfResultSerializer,
)
from toc.api.common import finite
from toc.api.jsontypes import JsonTyped
from toc.api.permissions import IsPerson
from toc.lib import bounds
from toc.lib.formats import json_number
from toc.metrics.ingest import MAX_BIGINT
from toc.metrics.ledger import ledger_response, rows_from_payload
from toc.systems.access import get_system

# The most lines or tiers a calculation takes. A pipeline has tens of stages and
# a cascade a handful of tiers; 200 rows cost some 25 ms of CPU, where a body at
# the size limit (5 MB, some 100,000 rows) cost seconds.
MAX_ROWS = 200


class Rows(serializers.ListSerializer):
    """A calculator's list, refused whole past its `max_length` before any row is
    read; the schema says minItems and maxItems."""

    # Set by ListSerializer.__init__, where the stubs leave them out.
    min_length: int | None
    max_length: int | None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.min_length is not None:
            self.validators.append(MinLengthValidator(self.min_length))
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))


def _rows(
    serializer: type[serializers.Serializer], noun: str, **kwargs
) -> serializers.ListSerializer:
    """A list of up to MAX_ROWS `serializer`s (`noun`)."""
    too_many = f"Send at most {{max_length}} {noun}; a calculation takes no more."
    # many=True makes a ListSerializer, which takes max_length: not in the stubs.
    return serializer(  # type: ignore[call-arg, return-value]
        many=True,
        max_length=MAX_ROWS,
        error_messages={"max_length": too_many},
        **kwargs,
    )


def _calculated(calculation, *args, **kwargs):
    """The analysis functions refuse impossible input with ValueError: a 400.
    So are numbers too large to calculate with (OverflowError)."""
    try:
        return calculation(*args, **kwargs)
    except ValueError as error:
        raise ValidationError({"non_field_errors": [str(error)]}) from None
    except ArithmeticError:
        raise ValidationError(
            {"non_field_errors": ["The numbers are too large to calculate with."]}
        ) from None


class StageLineSerializer(JsonTyped, serializers.Serializer):
    stage = serializers.CharField(max_length=100)
    capacity = serializers.FloatField(validators=bounds.AMOUNT.validators())
    load = serializers.FloatField(validators=bounds.AMOUNT.validators())
    utilization = serializers.FloatField(
        validators=bounds.AMOUNT.validators(),
        required=False,
        help_text="Default: load / capacity.",
    )
    blocked = serializers.FloatField(validators=bounds.SHARE.validators(), default=0)
    queue_depth = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    queue_trend = serializers.FloatField(
        validators=bounds.SIGNED.validators(),
        default=0,
        help_text="Records/s; > 0 grows.",
    )

    class Meta:
        list_serializer_class = Rows


class WhatIfSerializer(JsonTyped, serializers.Serializer):
    system = serializers.SlugField(
        required=False, help_text="Use this system's current ledger …"
    )
    stages = _rows(
        StageLineSerializer,
        "stages",
        required=False,
        help_text="… or these lines, in pipeline order.",
    )
    stage = serializers.CharField(help_text="The stage (by name) to scale.")
    factor = serializers.FloatField(validators=bounds.FACTOR.validators())

    def validate(self, data: dict) -> dict:
        if ("system" in data) == ("stages" in data):
            raise ValidationError("Send either `system` or `stages`.")
        return data


@extend_schema(responses=WhatIfResultSerializer)
class WhatIf(APIView):
    """Scale one stage's capacity by `factor` and see where the constraint goes,
    on a system's current ledger or on lines you send."""

    permission_classes = [IsPerson]
    serializer_class = WhatIfSerializer

    def post(self, request) -> Response:
        asked = WhatIfSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        if "system" in data:
            system, _ = get_system(request, data["system"])
            rows = rows_from_payload(ledger_response(system))
        else:
            rows = [_line(line) for line in data["stages"]]
        result = _calculated(what_if, rows, data["stage"], data["factor"])
        return Response(
            finite(
                {
                    "summary": result.summary,
                    "before": _finding(result.before),
                    "after": _finding(result.after),
                    "stages": [
                        {
                            "stage": row.stage,
                            "capacity": row.capacity,
                            "utilization": row.utilization,
                            "headroom": None
                            if row.headroom is None
                            else json_number(row.headroom),
                        }
                        for row in result.rows
                    ],
                }
            )
        )


def _line(line: dict) -> LedgerRow:
    capacity, load = line["capacity"], line["load"]
    utilization = line.get("utilization")
    if utilization is None:
        utilization = load / capacity if capacity else 1.0
    return LedgerRow(
        stage=line["stage"],
        samples=1,
        capacity=capacity,
        load=load,
        utilization=utilization,
        blocked=line["blocked"],
        latency_p95_ms=0.0,
        queue_depth=line["queue_depth"],
        queue_trend=line["queue_trend"],
    )


def _finding(finding) -> dict:
    return {
        "stage": finding.stage,
        "ceiling": json_number(finding.ceiling),
        "reason": finding.reason,
    }


class LittlesLawSerializer(JsonTyped, serializers.Serializer):
    alerts_per_day = serializers.FloatField(validators=bounds.AMOUNT.validators())
    minutes_per_investigation = serializers.FloatField(
        validators=bounds.MINUTES_PER_INVESTIGATION.validators()
    )
    analysts = serializers.FloatField(validators=bounds.PEOPLE.validators())
    hours_per_analyst_per_day = serializers.FloatField(
        validators=bounds.HOURS_PER_DAY.validators(), default=8
    )


@extend_schema(responses=DecisionBudgetSerializer)
class LittlesLaw(APIView):
    """L = λW for a decision budget: how many alerts the people available can
    work through a day, and how busy the alerts keep them."""

    permission_classes = [IsPerson]
    serializer_class = LittlesLawSerializer

    def post(self, request) -> Response:
        asked = LittlesLawSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        budget = _calculated(decision_budget, **asked.validated_data)
        return Response(
            finite(
                {
                    "in_progress": budget.in_progress,
                    "sustainable_alerts_per_day": budget.sustainable_alerts_per_day,
                    "utilization": json_number(budget.utilization),
                    "holds": budget.holds,
                }
            )
        )


class CascadeTierSerializer(JsonTyped, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    exit_share = serializers.FloatField(validators=bounds.SHARE.validators())
    cost_ms = serializers.FloatField(validators=bounds.AMOUNT.validators())

    class Meta:
        list_serializer_class = Rows


class CascadeSerializer(JsonTyped, serializers.Serializer):
    input_rate = serializers.FloatField(
        validators=bounds.AMOUNT.validators(), help_text="Records/s entering."
    )
    target_utilization = serializers.FloatField(
        validators=bounds.TARGET_UTILIZATION.validators(), default=0.7
    )
    tiers = _rows(CascadeTierSerializer, "tiers", allow_empty=False, min_length=1)


@extend_schema(responses=CascadePlanSerializer)
class Cascade(APIView):
    """Tiers with exit shares and per-record cost: the load reaching each tier,
    the capacity and workers it needs, and the mean latency of a record."""

    permission_classes = [IsPerson]
    serializer_class = CascadeSerializer

    def post(self, request) -> Response:
        asked = CascadeSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        plan = _calculated(
            plan_cascade,
            [CascadeTier(**tier) for tier in data["tiers"]],
            data["input_rate"],
            data["target_utilization"],
        )
        return Response(
            finite(
                {
                    "mean_latency_ms": plan.mean_latency_ms,
                    "tiers": [
                        {
                            "name": tier.name,
                            "reach_share": tier.reach_share,
                            "load": tier.load,
                            "required_capacity": tier.required_capacity,
                            "required_workers": tier.required_workers,
                        }
                        for tier in plan.tiers
                    ],
                }
            )
        )


urlpatterns = [
    path("tools/what-if/", WhatIf.as_view(), name="what-if"),
    path("tools/littles-law/", LittlesLaw.as_view(), name="littles-law"),
    path("tools/cascade/", Cascade.as_view(), name="cascade"),
]
