from __future__ import annotations

from django.urls import path

from toc.systems import views

# The system pages themselves (dashboard, ledger, charts) are toc.dashboard's;
# toc/urls.py puts both under the one "systems" namespace.

urlpatterns = [
    path("", views.system_list, name="list"),
    path("new/", views.system_create, name="create"),
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
