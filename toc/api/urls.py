from __future__ import annotations

from django.urls import path

from toc.api import (
    cycle_reports,
    cycle_steps,
    cycles,
    exposition,
    invitations,
    openslo,
    prometheus,
    slos,
    systems,
    teams,
    tokens,
    tools,
    views,
    webhooks,
)

app_name = "api"

urlpatterns = [
    path("systems/", views.SystemList.as_view(), name="systems"),
    path("metrics", exposition.Findings.as_view(), name="metrics"),
    path("systems/<slug:slug>/samples/", views.SampleIngest.as_view(), name="samples"),
    path("systems/<slug:slug>/ledger/", views.Ledger.as_view(), name="ledger"),
    path("systems/<slug:slug>/series/", views.Series.as_view(), name="series"),
    path(
        "systems/<slug:slug>/constraint-events/",
        views.ConstraintEventList.as_view(),
        name="constraint-events",
    ),
    *systems.urlpatterns,
    *slos.urlpatterns,
    *openslo.urlpatterns,
    *prometheus.urlpatterns,
    *teams.urlpatterns,
    *tools.urlpatterns,
    *cycles.urlpatterns,
    *cycle_reports.urlpatterns,
    *cycle_steps.urlpatterns,
    *tokens.urlpatterns,
    *invitations.urlpatterns,
    *webhooks.urlpatterns,
]
