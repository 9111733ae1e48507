"""A system's Prometheus source: where its stage samples are pulled from.

PUT sets it whole (editors): the server's URL, the interval, and per stage one
PromQL expression per sample field; the browser's form (PrometheusForm) checks
it, and a 400 names each stage and field at fault. GET reads it back with what
each expression last did (`derived`, outside the ETag). POST …/pull/ asks for a
pull now instead of at the next interval.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.common import check_if_match, tagged
from toc.api.jsontypes import OBJECT, TEXT, form_type_errors
from toc.api.permissions import IsPerson
from toc.metrics import prometheus
from toc.metrics.forms import PrometheusForm, query_field
from toc.metrics.models import PrometheusSource
from toc.metrics.tasks import enqueue_pull
from toc.systems.access import get_system
from toc.systems.models import Stage, System

BODY_FIELDS = ("url", "interval_s", "stages")


class QueryStatusSerializer(serializers.Serializer):
    last_success_at = serializers.DateTimeField(
        allow_null=True, help_text="When it last gave data."
    )
    last_error = serializers.CharField(
        help_text="What went wrong when it last failed, in words; empty if never."
    )
    last_error_at = serializers.DateTimeField(allow_null=True)
    failing = serializers.BooleanField(
        help_text="Its last attempt failed: the error is at or after the success."
    )


class PrometheusDerivedSerializer(serializers.Serializer):
    pulled_until = serializers.DateTimeField(
        allow_null=True,
        help_text="The sample time up to which every stage has been read; the "
        "next pull starts after it.",
    )
    queries = serializers.DictField(
        child=serializers.DictField(child=QueryStatusSerializer()),
        help_text="What each expression last did, by stage and field.",
    )


class PrometheusWriteSerializer(serializers.Serializer):
    """What a PUT takes (the schema's; PrometheusForm validates)."""

    url = serializers.CharField(
        max_length=500, help_text="The server's base URL, e.g. http://prometheus:9090."
    )
    interval_s = serializers.IntegerField(
        required=False,
        min_value=prometheus.MIN_INTERVAL_S,
        max_value=prometheus.MAX_INTERVAL_S,
        default=60,
        help_text="Seconds between pulls; each reads everything since the last "
        f"one, at {prometheus.STEP_S} s steps.",
    )
    stages = serializers.DictField(
        child=serializers.DictField(
            child=serializers.CharField(max_length=prometheus.MAX_PROMQL)
        ),
        help_text="By stage slug, by sample field ("
        + ", ".join(prometheus.FIELDS)
        + "): the PromQL expression that gives it. A stage named here needs "
        "every required field (" + ", ".join(prometheus.REQUIRED) + "; a stage "
        "of people may leave capacity out); a stage left out is not pulled.",
    )


class PrometheusSerializer(PrometheusWriteSerializer):
    derived = PrometheusDerivedSerializer(read_only=True)


def _source(system: System) -> PrometheusSource:
    source = PrometheusSource.objects.filter(system=system).first()
    if source is None:
        raise NotFound("This system pulls from no Prometheus; PUT a source first.")
    return source


def _represent(source: PrometheusSource) -> dict:
    queries = sorted(
        source.queries.select_related("stage"),
        key=lambda q: (
            q.stage.position,
            q.stage.pk,
            prometheus.FIELDS.index(q.field),
        ),
    )
    stages: dict[str, dict[str, str]] = {}
    statuses: dict[str, dict[str, dict]] = {}
    for query in queries:
        stages.setdefault(query.stage.slug, {})[query.field] = query.promql
        statuses.setdefault(query.stage.slug, {})[query.field] = {
            "last_success_at": query.last_success_at,
            "last_error": query.last_error,
            "last_error_at": query.last_error_at,
            "failing": query.failing,
        }
    return {
        "url": source.url,
        "interval_s": source.interval_s,
        "stages": stages,
        "derived": {"pulled_until": source.pulled_until, "queries": statuses},
    }


def _bound(body: object, stages: list[Stage]) -> PrometheusForm:
    """The page's form bound to a PUT's body, or a 400 naming each stage and
    field at fault."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [OBJECT]})
    errors: dict = {
        name: [f"Unknown field; a source takes {', '.join(BODY_FIELDS)}."]
        for name in body
        if name not in BODY_FIELDS
    }
    errors |= form_type_errors(PrometheusForm, body)
    by_stage = body.get("stages", {})
    slugs = [stage.slug for stage in stages]
    stage_errors: dict = {}
    if not isinstance(by_stage, dict):
        errors["stages"] = ["Send a JSON object: {stage: {field: PromQL}}."]
        by_stage = {}
    for slug, fields in by_stage.items():
        if slug not in slugs:
            stage_errors[slug] = [
                f"No such stage in this system; its stages are {', '.join(slugs)}."
            ]
        elif not isinstance(fields, dict):
            stage_errors[slug] = ["Send a JSON object: {field: PromQL}."]
        else:
            for name, promql in fields.items():
                if name not in prometheus.FIELDS:
                    stage_errors.setdefault(slug, {})[name] = [
                        f"Not a sample field; one of {', '.join(prometheus.FIELDS)}."
                    ]
                elif not isinstance(promql, str):
                    stage_errors.setdefault(slug, {})[name] = [TEXT]
    if stage_errors:
        errors["stages"] = stage_errors
    if errors:
        raise ValidationError(errors)
    data = {
        "url": body.get("url"),
        "interval_s": body.get(
            "interval_s", PrometheusForm.base_fields["interval_s"].initial
        ),
        **{
            query_field(slug, name): promql
            for slug, fields in by_stage.items()
            for name, promql in fields.items()
        },
    }
    form = PrometheusForm(
        {k: v for k, v in data.items() if v is not None}, stages=stages
    )
    if not form.is_valid():
        raise ValidationError(_api_errors(form))
    return form


def _api_errors(form: PrometheusForm) -> dict:
    """The form's errors where the body has them: "stages.<slug>.<field>"."""
    errors: dict = {}
    for name, found in form.errors.get_json_data().items():
        messages = [error["message"] for error in found]
        if "." in name:
            slug, field = name.split(".", 1)
            errors.setdefault("stages", {}).setdefault(slug, {})[field] = messages
        else:
            errors["non_field_errors" if name == "__all__" else name] = messages
    return errors


class PrometheusDetail(APIView):
    """GET: the system's Prometheus source, with what each expression last did
    (`derived`: its last success and last error in words). PUT (editors): sets
    it whole; 201 the first time. Send `If-Match` with the ETag you read to get
    412 instead of overwriting someone else's change."""

    checks_if_match = ("PUT",)
    permission_classes = [IsPerson]
    serializer_class = PrometheusSerializer

    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        return tagged(_represent(_source(system)))

    @extend_schema(
        request=PrometheusWriteSerializer,
        responses={200: PrometheusSerializer, 201: PrometheusSerializer},
    )
    def put(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        existing = PrometheusSource.objects.filter(system=system).first()
        if existing is not None:
            check_if_match(request, _represent(existing))
        form = _bound(request.data, list(system.stages.all()))
        source = prometheus.source_configure(
            system=system,
            url=form.cleaned_data["url"],
            interval_s=form.cleaned_data["interval_s"],
            queries=form.queries(),
        )
        return tagged(
            _represent(source),
            status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED,
        )


class PullQueuedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class BrokerUnavailable(APIException):
    status_code = 503
    default_detail = (
        "Could not queue the pull (the task queue is unavailable); the next "
        "pull on the interval still runs."
    )
    default_code = "unavailable"


class PrometheusPull(APIView):
    """Pulls now (editors), rather than at the next interval: 202 once queued.
    Each expression's outcome then shows in GET …/prometheus/."""

    permission_classes = [IsPerson]

    @extend_schema(request=None, responses={202: PullQueuedSerializer})
    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        source = _source(system)
        if not enqueue_pull(source.pk):
            raise BrokerUnavailable()
        return Response(
            {"detail": "Pull queued; GET the source to see what each query did."},
            status=status.HTTP_202_ACCEPTED,
        )


urlpatterns = [
    path(
        "systems/<slug:slug>/prometheus/",
        PrometheusDetail.as_view(),
        name="prometheus",
    ),
    path(
        "systems/<slug:slug>/prometheus/pull/",
        PrometheusPull.as_view(),
        name="prometheus-pull",
    ),
]
