from __future__ import annotations

from django.urls import path

from toc.metrics import views as metrics_views
from toc.systems import views

app_name = "systems"

urlpatterns = [
    path("", views.system_list, name="list"),
    path("new/", views.system_create, name="create"),
    path("<slug:slug>/", metrics_views.system_dashboard, name="detail"),
    path("<slug:slug>/ledger/", metrics_views.system_ledger, name="ledger"),
    path("<slug:slug>/what-if/", metrics_views.system_what_if, name="what-if"),
    path("<slug:slug>/series/", metrics_views.system_series, name="series"),
    path("<slug:slug>/timeline/", metrics_views.system_timeline, name="timeline"),
    path("<slug:slug>/stages/", views.stage_list, name="stages"),
    path("<slug:slug>/keys/", views.key_list, name="keys"),
    path("<slug:slug>/keys/<int:key_id>/revoke/", views.key_revoke, name="key-revoke"),
    path("<slug:slug>/edit/", views.system_edit, name="edit"),
    path("<slug:slug>/delete/", views.system_delete, name="delete"),
    path("<slug:slug>/stages/add/", views.stage_add, name="stage-add"),
    path(
        "<slug:slug>/stages/<slug:stage_slug>/edit/",
        views.stage_edit,
        name="stage-edit",
    ),
    path(
        "<slug:slug>/stages/<slug:stage_slug>/move/",
        views.stage_move,
        name="stage-move",
    ),
    path(
        "<slug:slug>/stages/<slug:stage_slug>/delete/",
        views.stage_delete,
        name="stage-delete",
    ),
]
