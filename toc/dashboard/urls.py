from __future__ import annotations

from django.urls import path

from toc.dashboard import views

urlpatterns = [
    path("<slug:slug>/", views.system_dashboard, name="detail"),
    path("<slug:slug>/ledger/", views.system_ledger, name="ledger"),
    path("<slug:slug>/what-if/", views.system_what_if, name="what-if"),
    path("<slug:slug>/series/", views.system_series, name="series"),
    path("<slug:slug>/timeline/", views.system_timeline, name="timeline"),
    path("<slug:slug>/stages/<slug:stage_slug>/", views.stage_detail, name="stage"),
]
