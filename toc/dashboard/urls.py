from __future__ import annotations

from django.urls import path

from toc.dashboard import prometheus, slos, views

urlpatterns = [
    path("<slug:slug>/", views.system_dashboard, name="detail"),
    path("<slug:slug>/ledger/", views.system_ledger, name="ledger"),
    path("<slug:slug>/what-if/", views.system_what_if, name="what-if"),
    path("<slug:slug>/series/", views.system_series, name="series"),
    path("<slug:slug>/timeline/", views.system_timeline, name="timeline"),
    path("<slug:slug>/stages/<slug:stage_slug>/", views.stage_detail, name="stage"),
    path("<slug:slug>/slos/", slos.slo_list, name="slos"),
    path("<slug:slug>/slos/add/", slos.slo_add, name="slo-add"),
    path("<slug:slug>/slos/<int:pk>/", slos.slo_detail, name="slo"),
    path("<slug:slug>/slos/<int:pk>/edit/", slos.slo_edit, name="slo-edit"),
    path("<slug:slug>/slos/<int:pk>/move/", slos.slo_move, name="slo-move"),
    path("<slug:slug>/slos/<int:pk>/delete/", slos.slo_delete, name="slo-delete"),
    path(
        "<slug:slug>/prometheus/",
        prometheus.prometheus_source,
        name="prometheus",
    ),
    path(
        "<slug:slug>/prometheus/test/",
        prometheus.prometheus_test,
        name="prometheus-test",
    ),
]
