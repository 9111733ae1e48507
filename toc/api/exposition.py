"""toc's own findings in Prometheus's text format, at /api/v1/metrics.

Teams scrape it with a personal API token (`metrics_path: /api/v1/metrics` and
`authorization: {credentials: …}` in the scrape config) and graph and alert on
the constraint where they already do. It shows the systems of the token's
teams; each reads its stored ledger, one query per system.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from rest_framework.views import APIView

from toc.api.common import ErrorsInJson
from toc.api.permissions import IsPerson
from toc.metrics.ledger import ledger_response
from toc.systems.models import System


class FindingsCollector(Collector):
    """One scrape's figures: per system, where the constraint is and how fresh
    the ledger is; per stage, its headroom, utilization and queue."""

    def __init__(self, systems: list[System]) -> None:
        self.systems = systems

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        constraint = GaugeMetricFamily(
            "toc_constraint",
            "1 for the stage that holds the system's constraint in the ledger.",
            labels=["system", "stage"],
        )
        stale = GaugeMetricFamily(
            "toc_ledger_stale",
            "1 while the ledger has had no data for longer than the system posts.",
            labels=["system"],
        )
        age = GaugeMetricFamily(
            "toc_ledger_age_seconds",
            "Seconds since the ledger's newest sample.",
            labels=["system"],
        )
        headroom = GaugeMetricFamily(
            "toc_stage_headroom_ratio",
            "How many times today's load a stage can take before it saturates.",
            labels=["system", "stage"],
        )
        utilization = GaugeMetricFamily(
            "toc_stage_utilization_ratio",
            "Share of the time a stage is busy, over the ledger's window.",
            labels=["system", "stage"],
        )
        queue = GaugeMetricFamily(
            "toc_stage_queue_depth",
            "Records waiting for a stage, over the ledger's window.",
            labels=["system", "stage"],
        )
        for system in self.systems:
            ledger = ledger_response(system, now)
            if ledger["computed_at"] is None:
                continue  # no data yet: nothing to report rather than zeros
            found = ledger["constraint"]
            if found and found["stage"]:
                constraint.add_metric([system.slug, found["stage"]], 1)
            stale.add_metric([system.slug], int(ledger["stale"]))
            if ledger["age_s"] is not None:
                age.add_metric([system.slug], ledger["age_s"])
            for row in ledger["stages"]:
                labels = [system.slug, row["stage"]]
                for family, value in (
                    (headroom, row["headroom"]),
                    (utilization, row["utilization"]),
                    (queue, row["queue_depth"]),
                ):
                    if value is not None:
                        family.add_metric(labels, value)
        yield from (constraint, stale, age, headroom, utilization, queue)


@extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
class Findings(APIView):
    """toc's findings in Prometheus's text format, for the systems of the
    token's teams: `toc_constraint{system, stage}` (1 where the constraint
    is), `toc_ledger_stale{system}`, `toc_ledger_age_seconds{system}`, and per
    stage `toc_stage_headroom_ratio`, `toc_stage_utilization_ratio` and
    `toc_stage_queue_depth`. A system without data yet is left out."""

    permission_classes = [IsPerson]
    content_negotiation_class = ErrorsInJson

    def get(self, request) -> HttpResponse:
        systems = list(System.objects.for_user(request.user).order_by("slug"))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(FindingsCollector(systems))
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
