"""A team's invitations, for its admins: list them, invite someone, revoke one.

As on the team page: the new invitation's link is in the answer once and is
mailed to the address; joining happens in the browser, at the link. Another
team's invitation is a 404 like one that does not exist.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts import services
from toc.accounts.access import get_team
from toc.accounts.forms import InvitationForm
from toc.accounts.invitations import invite
from toc.accounts.models import Invitation, InvitationState, Role
from toc.api.common import bound_form, require_valid
from toc.api.permissions import IsPerson
from toc.api.schema import ErrorSerializer


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=InvitationState.choices,
        read_only=True,
        help_text="pending until it is used, revoked or expires.",
    )
    invited_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "state",
            "invited_by",
            "created",
            "expires",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = [
            "id",
            "created",
            "expires",
            "accepted_at",
            "revoked_at",
        ]


class InvitationRequestSerializer(serializers.ModelSerializer):
    """What a POST takes (the schema's; InvitationForm validates)."""

    class Meta:
        model = Invitation
        fields = ["email", "role"]


class NewInvitationSerializer(InvitationSerializer):
    url = serializers.URLField(
        read_only=True,
        help_text="The link that joins the team: in this answer only, never again.",
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "url"]


class NewestInvitationFirst(CursorPagination):
    ordering = ("-created", "-id")


class InvitationGone(APIException):
    status_code = 410
    default_code = "gone"


@extend_schema_view(
    post=extend_schema(
        request=InvitationRequestSerializer,
        responses={201: NewInvitationSerializer},
    )
)
class InvitationList(generics.ListAPIView):
    """GET: the team's invitations, newest first, in every state (admins).
    POST `{"email", "role"}` (admins) invites someone, as a viewer unless
    `role` says otherwise: the link is mailed to them, and is in the answer
    (`url`) once, not cached. It works once, for settings.INVITATION_DAYS."""

    permission_classes = [IsPerson]
    serializer_class = InvitationSerializer
    pagination_class = NewestInvitationFirst

    def get_queryset(self):
        team, _ = get_team(self.request, self.kwargs["slug"], needs=Role.ADMIN)
        return team.invitations.select_related("created_by")

    def post(self, request, slug: str) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        form = require_valid(bound_form(InvitationForm, request.data, team=team))
        invitation, secret = services.invitation_create(form, created_by=request.user)
        response = Response(
            {
                **NewInvitationSerializer(invitation).data,
                "url": invite(request, invitation, secret),
            },
            status=status.HTTP_201_CREATED,
        )
        add_never_cache_headers(response)
        return response


@extend_schema(
    responses={
        204: None,
        410: OpenApiResponse(
            ErrorSerializer, "The invitation was already used or revoked."
        ),
    }
)
class InvitationRevoke(APIView):
    """Revokes an invitation (admins): its link stops working at once. 410 when
    it was already used (remove the member instead) or revoked."""

    permission_classes = [IsPerson]

    def delete(self, request, slug: str, invitation_id: int) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        invitation = team.invitations.filter(pk=invitation_id).first()
        if invitation is None:
            raise Http404("No such invitation in this team.")
        try:
            services.invitation_revoke(invitation)
        except services.InvitationGone as gone:
            raise InvitationGone(_gone_message(gone.state)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _gone_message(state: InvitationState) -> str:
    if state == InvitationState.ACCEPTED:
        return (
            "This invitation was already used; to take the person out of the "
            "team, remove the member."
        )
    return "This invitation was already revoked."


urlpatterns = [
    path(
        "teams/<slug:slug>/invitations/",
        InvitationList.as_view(),
        name="invitations",
    ),
    path(
        "teams/<slug:slug>/invitations/<int:invitation_id>/",
        InvitationRevoke.as_view(),
        name="invitation",
    ),
]
