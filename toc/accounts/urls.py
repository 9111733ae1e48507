from __future__ import annotations

from django.urls import path

from toc.accounts import invitations, views

app_name = "accounts"

urlpatterns = [
    path("", views.team_list, name="teams"),
    path("new/", views.team_create, name="team-create"),
    path("<slug:slug>/", views.team_detail, name="team"),
    path("<slug:slug>/members/add/", views.member_add, name="member-add"),
    path(
        "<slug:slug>/members/<int:member_id>/role/",
        views.member_role,
        name="member-role",
    ),
    path(
        "<slug:slug>/members/<int:member_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path(
        "<slug:slug>/invitations/",
        invitations.invitation_create,
        name="invitation-create",
    ),
    path(
        "<slug:slug>/invitations/<int:invitation_id>/revoke/",
        invitations.invitation_revoke,
        name="invitation-revoke",
    ),
]
