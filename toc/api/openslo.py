"""A system's SLOs as OpenSLO v1 YAML: imported and exported.

POST (editor) takes one or more `kind: SLO` documents (and the `kind: SLI`
documents they reference) and creates an SLO per document, or updates the
SLO of the same metadata.name, all or nothing; 201 with the SLOs as the SLO
API shows them. GET writes the system's SLOs as documents that import again
unchanged. How the fields map: toc.lib.openslo.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.urls import path
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.common import ErrorsInJson
from toc.api.parsers import YAML_PARSERS, unstorable_text
from toc.api.permissions import IsPerson
from toc.api.slos import SloSerializer, _represent
from toc.lib import openslo
from toc.lib.openslo import SloSpec
from toc.systems import services
from toc.systems.access import get_system
from toc.systems.forms import SloForm
from toc.systems.models import Slo, System

YAML = "application/yaml"
YAML_BODY = {parser.media_type: OpenApiTypes.STR for parser in YAML_PARSERS}

# Where in an OpenSLO document each of toc's fields comes from, for errors.
FIELD_PATHS = {
    "openslo_name": "metadata.name",
    "name": "metadata.displayName",
    "dimension": f"metadata.annotations.{openslo.DIMENSION}",
    "unit": f"metadata.annotations.{openslo.UNIT}",
    "target": f"metadata.annotations.{openslo.TARGET}",
    "measured_from": f"metadata.annotations.{openslo.MEASURED_FROM}",
    "comparator": "spec.objectives[0].op",
    "threshold": "spec.objectives[0].value",
    "objective": "spec.objectives[0].target",
    "timeslice_target": "spec.objectives[0].timeSliceTarget",
    "budgeting": "spec.budgetingMethod",
    "window_days": "spec.timeWindow[0].duration",
    "calendar": "spec.timeWindow[0].duration",
    "stage": "the toc metricSource's spec.stage",
    "field": "the toc metricSource's spec.field",
    "total_field": "the total toc metricSource's spec.field",
    "promql_good": "the good Prometheus metricSource's spec.query",
    "promql_total": "the total Prometheus metricSource's spec.query",
    "source": "the indicator's metricSource",
}


class YamlInJsonErrorsOut(DefaultContentNegotiation):
    """Bodies by their Content-Type (YAML only: anything else is a 415); the
    export as YAML whatever the client accepts, errors as JSON."""

    select_renderer = ErrorsInJson.select_renderer


class OpenSlo(APIView):
    """The system's SLOs as OpenSLO v1 YAML.

    GET: every SLO that is an OpenSLO SLO (an indicator, bound or not, and an
    objective) as a document; the others are named in a comment at the top.
    POST (editor): YAML (Content-Type application/yaml) with one or more
    `kind: SLO` documents, their indicators inline or `indicatorRef` to a
    `kind: SLI` document of the body. Each creates an SLO, or updates the SLO
    whose metadata.name it bears; 201 with those SLOs in the body's order.
    A metric source toc cannot read is kept and the SLO is `unbound` until
    PATCHed with indicator, stage and field. A document that is not valid
    OpenSLO v1, or a toc source naming a stage the system lacks, is a 400
    naming the document and the path; nothing is written then.
    """

    permission_classes = [IsPerson]
    parser_classes = YAML_PARSERS
    content_negotiation_class = YamlInJsonErrorsOut

    # Described as any value: a YAML reader sees the documents, not a string.
    @extend_schema(
        responses={
            (200, YAML): OpenApiResponse(
                OpenApiTypes.ANY,
                description="OpenSLO v1 documents, one per SLO, separated by ---.",
            )
        }
    )
    def get(self, request, slug: str) -> HttpResponse:
        system, _ = get_system(request, slug)
        slos = list(system.slos.all())
        names = exported_names(slos)
        written, skipped = [], []
        for slo in slos:
            spec = spec_of(slo, names[slo.pk])
            if why := openslo.missing(spec):
                skipped.append(f"{slo.name} ({why})")
            else:
                written.append(spec)
        header = ""
        if skipped:
            header = "Not written, not OpenSLO SLOs yet: " + "; ".join(skipped)
        body = openslo.emit(written, service=system.slug, header=header)
        return HttpResponse(body, content_type=f"{YAML}; charset=utf-8")

    @extend_schema(request=YAML_BODY, responses={201: SloSerializer(many=True)})
    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        body = request.data if isinstance(request.data, str) else ""
        try:
            specs = openslo.parse(body)
        except openslo.OpenSloError as error:
            raise _refused(str(error)) from None
        with transaction.atomic():
            slos = slos_import(system=system, specs=specs)
        return Response(_represent(system, slos), status=201)


def _refused(message: str) -> ValidationError:
    return ValidationError({"non_field_errors": [message]})


def _where(spec: SloSpec) -> str:
    return f"document {spec.document} ({spec.openslo_name})"


def slos_import(*, system: System, specs: list[SloSpec]) -> list[Slo]:
    """Creates or updates an SLO per spec, matching the system's SLOs by the
    name they are exported under; all specs are checked before any is saved."""
    # The system's row first, as services do before adding an SLO: two imports
    # of one new name then take turns instead of both creating it.
    System.objects.select_for_update(no_key=True).filter(pk=system.pk).first()
    existing = list(system.slos.all())
    names = exported_names(existing)
    by_name = {names[s.pk]: s for s in existing}
    stages = set(system.stages.values_list("slug", flat=True))
    forms = []
    for spec in specs:
        if spec.stage and spec.stage not in stages:
            raise _refused(
                f"{_where(spec)}: the toc source's stage {spec.stage!r} is not a "
                f"stage of {system.slug} (its stages: {', '.join(sorted(stages))})"
            )
        if where := unstorable_text({f: getattr(spec, f) for f in openslo.SLO_FIELDS}):
            raise _refused(
                f"{_where(spec)}: {FIELD_PATHS.get(where.split('.')[0], where)} "
                "holds a NUL character or an unpaired surrogate"
            )
        forms.append(_checked_form(system, spec, by_name.get(spec.openslo_name)))
    saved = []
    for form in forms:
        if form.instance.pk is None:
            saved.append(services.slo_create(system=system, form=form))
        else:
            saved.append(form.save())
    return saved


def _checked_form(system: System, spec: SloSpec, slo: Slo | None) -> SloForm:
    """The SLO form bound to the spec, over the SLO it updates (which keeps
    what the document leaves unstated) or a new one, with the fields the form
    does not take set on its instance; valid, or a 400 naming the document."""
    instance = slo or Slo(system=system)
    kept = spec.unstated if slo else frozenset()
    values = {f: getattr(spec, f) for f in openslo.SLO_FIELDS if f not in kept}
    data = model_to_dict(instance, fields=list(SloForm.base_fields))
    data.update({f: v for f, v in values.items() if f in SloForm.base_fields})
    for name, value in values.items():
        if name not in SloForm.base_fields:
            setattr(instance, name, value)
    form = SloForm(data={k: _form_value(v) for k, v in data.items()}, instance=instance)
    if not form.is_valid():
        errors = form.errors.get_json_data()
    else:
        try:
            form.instance.full_clean(validate_unique=False)
            return form
        except ModelValidationError as invalid:
            errors = {
                field: [{"message": m} for m in messages]
                for field, messages in invalid.message_dict.items()
            }
    field, messages = next(iter(errors.items()))
    where = FIELD_PATHS.get(field, field if field != "__all__" else "")
    message = messages[0]["message"]
    where = f"{_where(spec)}: {where}" if where else _where(spec)
    raise _refused(f"{where}: {message}")


def _form_value(value: object) -> object:
    """A value as the browser's form would post it."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    return value


NAME_PART = re.compile(r"[^a-z0-9]+")


def exported_names(slos: list[Slo]) -> dict[int, str]:
    """Each SLO's metadata.name: its openslo_name, or one made from its name
    (with its id if two would clash), so that an export imports onto the SLOs
    it came from."""
    names = {s.pk: s.openslo_name for s in slos if s.openslo_name}
    taken = set(names.values())
    for slo in slos:
        if slo.pk in names:
            continue
        name = NAME_PART.sub("-", slugify(slo.name)).strip("-")[:63].strip("-")
        if not name or name in taken:
            suffix = f"-{slo.pk}"
            name = (name[: 63 - len(suffix)].strip("-") or "slo") + suffix
        names[slo.pk] = name
        taken.add(name)
    return names


def spec_of(slo: Slo, name: str) -> SloSpec:
    values = {f: getattr(slo, f) for f in openslo.SLO_FIELDS}
    return SloSpec(**{**values, "openslo_name": name})


urlpatterns = [
    path("systems/<slug:slug>/slos/openslo/", OpenSlo.as_view(), name="slos-openslo"),
]
