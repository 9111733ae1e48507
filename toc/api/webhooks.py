"""A team's webhooks, for its admins: list, add (the signing secret is in the
answer once), remove, and read each one's delivery log.

As on the team's notifications page: the same form validates, and another
team's webhook is a 404 like one that does not exist.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.access import get_team, require_role
from toc.accounts.models import Role
from toc.api.common import bound_form, require_valid
from toc.api.permissions import IsPerson
from toc.notifications import services
from toc.notifications.forms import WebhookForm
from toc.notifications.models import OFFERED, Attempt, Delivery, Webhook


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=OFFERED))

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "created"]
        read_only_fields = ["id", "created"]


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=(
            "Signs each delivery (X-Toc-Signature: sha256=HMAC-SHA256 of the "
            "body): in this answer only, never again."
        ),
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["at", "ok", "status_code", "duration_ms", "response", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event.kind")
    event_key = serializers.CharField(source="event.key")
    occurred_at = serializers.DateTimeField(source="event.occurred_at")
    summary = serializers.CharField(source="event.summary")
    attempt_log = AttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_key",
            "occurred_at",
            "summary",
            "status",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "attempt_log",
        ]


class OldestFirst(CursorPagination):
    ordering = ("created", "id")


class NewestFirst(CursorPagination):
    ordering = ("-id",)


@extend_schema_view(
    post=extend_schema(request=WebhookSerializer, responses={201: NewWebhookSerializer})
)
class WebhookList(generics.ListAPIView):
    """GET: the team's webhooks, without their secrets (admins).
    POST `{"url", "events"}` (admins) adds one: an http(s) URL and the event
    kinds sent to it. Its signing secret is in the answer (`secret`) once,
    not cached."""

    permission_classes = [IsPerson]
    serializer_class = WebhookSerializer
    pagination_class = OldestFirst

    def get_queryset(self):
        team, _ = get_team(self.request, self.kwargs["slug"], needs=Role.ADMIN)
        return team.webhooks.all()

    def post(self, request, slug: str) -> Response:
        team, _ = get_team(request, slug, needs=Role.ADMIN)
        form = require_valid(bound_form(WebhookForm, request.data, team=team))
        webhook, secret = services.webhook_create(
            team=team,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            created_by=request.user,
        )
        response = Response(
            {**WebhookSerializer(webhook).data, "secret": secret},
            status=status.HTTP_201_CREATED,
        )
        add_never_cache_headers(response)
        return response


def _webhook(request, slug: str, webhook_id: int) -> Webhook:
    """The team's webhook, for its admins. One that does not exist is a 404
    before the role is asked, as for every record of a team."""
    team, role = get_team(request, slug)
    webhook = team.webhooks.filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook in this team.")
    require_role(role, Role.ADMIN, "webhook")
    return webhook


class WebhookDetail(APIView):
    """GET one webhook (admins); DELETE removes it and its delivery log."""

    permission_classes = [IsPerson]
    serializer_class = WebhookSerializer

    def get(self, request, slug: str, webhook_id: int) -> Response:
        return Response(WebhookSerializer(_webhook(request, slug, webhook_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug: str, webhook_id: int) -> Response:
        _webhook(request, slug, webhook_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveries(generics.ListAPIView):
    """A webhook's deliveries, newest first, each with its attempts and the
    receiver's answers (admins)."""

    permission_classes = [IsPerson]
    serializer_class = DeliverySerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        webhook = _webhook(self.request, self.kwargs["slug"], self.kwargs["webhook_id"])
        return webhook.deliveries.select_related("event").prefetch_related(
            "attempt_log"
        )


urlpatterns = [
    path("teams/<slug:slug>/webhooks/", WebhookList.as_view(), name="webhooks"),
    path(
        "teams/<slug:slug>/webhooks/<int:webhook_id>/",
        WebhookDetail.as_view(),
        name="webhook",
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:webhook_id>/deliveries/",
        WebhookDeliveries.as_view(),
        name="webhook-deliveries",
    ),
]
