"""Your teams, and a team's members and their roles, as the team pages show
and manage them.

Members of the team read; its admins add people, change roles and remove
members, through the page's form and services, so a team is never left
without an admin (409, as the page refuses it). Teams are created in the
browser.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.urls import path, register_converter, reverse
from django.urls.converters import StringConverter
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from toc.accounts import services
from toc.accounts.access import get_team
from toc.accounts.forms import MemberAddForm, MemberRoleForm
from toc.accounts.models import Membership, Role, Team
from toc.api.common import ByName, bound_form, check_if_match, require_valid, tagged
from toc.api.permissions import IsPerson
from toc.api.schema import ErrorSerializer


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role"]


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["slug", "name", "role"]

    # Not WithAnnotations: drf-spectacular reads the hints at run time.
    def get_role(self, team: Team) -> str:
        return cast(Any, team).my_role  # annotated by the team list's query


class TeamDetailSerializer(TeamSerializer):
    members = MembershipSerializer(source="memberships", many=True)

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "members"]


class TeamList(generics.ListAPIView):
    """The teams you belong to, with your role in each."""

    permission_classes = [IsPerson]
    serializer_class = TeamSerializer
    pagination_class = ByName

    def get_queryset(self):
        return _with_role(self.request.user)


class TeamDetail(generics.GenericAPIView):
    """One of your teams, your role in it and its members, with its ETag."""

    permission_classes = [IsPerson]
    serializer_class = TeamDetailSerializer
    answers_etag = ("GET",)

    def get(self, request, slug: str) -> Response:
        teams = _with_role(request.user).prefetch_related("memberships__user")
        team = teams.filter(slug=slug).first()
        if team is None:
            raise Http404("No such team.")
        return tagged(dict(TeamDetailSerializer(team).data))


def _with_role(user):
    """The user's teams, each with the user's role (one filter: the same membership)."""
    return Team.objects.filter(memberships__user=user).annotate(
        my_role=F("memberships__role")
    )


class LastAdminConflict(APIException):
    status_code = 409
    default_code = "last_admin"


class MemberRoleSerializer(serializers.ModelSerializer):
    """What a member's PATCH takes (the schema's; MemberRoleForm validates)."""

    class Meta:
        model = Membership
        fields = ["role"]


class ByUsername(CursorPagination):
    ordering = ("username",)


@extend_schema_view(post=extend_schema(responses={201: MembershipSerializer}))
class MemberList(generics.ListAPIView):
    """GET: the team's members by username, with their roles (any member).
    POST `{"username", "role"}` (admins) adds a person to the team, as a viewer
    unless `role` says otherwise; 201 with the member."""

    permission_classes = [IsPerson]
    serializer_class = MembershipSerializer
    pagination_class = ByUsername
    answers_etag = ("POST",)

    def get_queryset(self):
        team, _ = get_team(self.request, self.kwargs["slug"])
        return team.memberships.select_related("user").annotate(
            username=F("user__username")
        )

    def post(self, request, slug: str) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        form = bound_form(MemberAddForm, request.data, team=team)
        membership = services.member_add(form)
        if membership is None:
            require_valid(form)  # a person already in the team, meanwhile too
        assert membership is not None  # the form's error was raised above
        response = tagged(_member(membership), status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:member", args=[team.slug, membership.user.username])
        )
        return response


LAST_ADMIN = OpenApiResponse(
    ErrorSerializer, "The team would be left without an admin; nothing changed."
)


@extend_schema_view(
    patch=extend_schema(
        request=MemberRoleSerializer,
        responses={200: MembershipSerializer, 409: LAST_ADMIN},
    ),
    delete=extend_schema(responses={204: None, 409: LAST_ADMIN}),
)
class MemberDetail(generics.GenericAPIView):
    """GET: one member and their role, with its ETag (any member). PATCH
    `{"role"}` changes the role, DELETE takes the person out of the team
    (admins): either is 409 when it would leave the team without an admin."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PATCH", "DELETE")

    permission_classes = [IsPerson]
    serializer_class = MembershipSerializer

    def get(self, request, slug: str, username: str) -> Response:
        team, _ = get_team(request, slug)
        return tagged(_member(_membership(team, username)))

    def patch(self, request, slug: str, username: str) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        form = require_valid(bound_form(MemberRoleForm, request.data))
        with transaction.atomic():
            membership = _locked_membership(team, username)
            check_if_match(request, _member(membership))
            try:
                services.member_role_set(membership, form.cleaned_data["role"])
            except services.LastAdmin as refused:
                raise LastAdminConflict(str(refused)) from None
        return tagged(_member(membership))

    def delete(self, request, slug: str, username: str) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        with transaction.atomic():
            membership = _locked_membership(team, username)
            check_if_match(request, _member(membership))
            try:
                services.member_remove(membership)
            except services.LastAdmin as refused:
                raise LastAdminConflict(str(refused)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _member(membership: Membership) -> dict:
    return dict(MembershipSerializer(membership).data)


def _membership(team: Team, username: str) -> Membership:
    membership = (
        team.memberships.select_related("user", "team")
        .filter(user__username=username)
        .first()
    )
    if membership is None:
        raise Http404("No such member of this team.")
    return membership


def _locked_membership(team: Team, username: str) -> Membership:
    """For a change, inside a transaction: the membership, read once no other
    change to the team's members is running, so that the If-Match check and
    the change see the same role.

    Every membership of the team is locked, in pk order: the order in which
    the services lock the team's admins, so the two locks cannot deadlock.
    """
    list(
        Membership.objects.filter(team=team)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    return _membership(team, username)


class UsernameConverter(StringConverter):
    """The characters Django allows in a user name, so that no other text (a NUL,
    which PostgreSQL refuses) reaches a lookup."""

    regex = r"[\w.@+-]+"


register_converter(UsernameConverter, "username")

urlpatterns = [
    path("teams/", TeamList.as_view(), name="teams"),
    path("teams/<slug:slug>/", TeamDetail.as_view(), name="team"),
    path("teams/<slug:slug>/members/", MemberList.as_view(), name="members"),
    path(
        "teams/<slug:slug>/members/<username:username>/",
        MemberDetail.as_view(),
        name="member",
    ),
]
