from __future__ import annotations

from django.urls import path

from toc.cycles import rows, views

app_name = "cycles"

urlpatterns = [
    path("", views.cycle_list, name="list"),
    path("<int:number>/", views.cycle_detail, name="detail"),
    path("<int:number>/next/", views.cycle_next, name="next"),
    path("<int:number>/reopen/", views.cycle_reopen, name="reopen"),
    path(
        "<int:number>/retrospective/",
        views.cycle_retrospective,
        name="retrospective",
    ),
    path("<int:number>/retrospective/notes/", views.cycle_notes, name="notes"),
    path("<int:number>/trail/", views.cycle_trail, name="trail"),
    path("<int:number>/export.<slug:fmt>", views.cycle_export, name="export"),
    path("<int:number>/<slug:key>/add/", rows.row_add, name="row-add"),
    path("<int:number>/<slug:key>/<int:pk>/edit/", rows.row_edit, name="row-edit"),
    path("<int:number>/<slug:key>/<int:pk>/move/", rows.row_move, name="row-move"),
    path(
        "<int:number>/<slug:key>/<int:pk>/delete/", rows.row_delete, name="row-delete"
    ),
    path("<int:number>/<slug:step>/", views.cycle_step, name="step"),
]
