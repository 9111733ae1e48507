"""Your personal API tokens: list them, make one, revoke one.

Only ever the caller's own tokens, as on the token page: another person's
token is a 404 like one that does not exist. The page's form names a new one.
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

from toc.accounts.forms import SecretNameForm
from toc.accounts.models import ApiToken
from toc.api.common import bound_form, require_valid
from toc.api.permissions import IsPerson


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["name", "token_key", "created", "last_used"]
        read_only_fields = ["token_key", "created", "last_used"]
        extra_kwargs = {
            "token_key": {"help_text": "The token's first characters; revoke by it."},
            "last_used": {"help_text": "To the minute; null: never used."},
        }


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text="The whole token (tocpat_…): in this answer only, never again.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class NewestTokenFirst(CursorPagination):
    ordering = ("-created",)


@extend_schema_view(
    post=extend_schema(
        request=ApiTokenSerializer, responses={201: NewApiTokenSerializer}
    )
)
class TokenList(generics.ListAPIView):
    """GET: your personal API tokens, newest first, by name and first
    characters only. POST `{"name"}` makes one, acting as you with your roles
    in your teams: the answer holds the whole token, once, and is not cached."""

    permission_classes = [IsPerson]
    serializer_class = ApiTokenSerializer
    pagination_class = NewestTokenFirst

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def post(self, request) -> Response:
        form = require_valid(bound_form(SecretNameForm, request.data))
        token, secret = ApiToken.objects.create(
            user=request.user, name=form.cleaned_data["name"], expiry=None
        )
        response = Response(
            {**NewApiTokenSerializer(token).data, "token": secret},
            status=status.HTTP_201_CREATED,
        )
        add_never_cache_headers(response)
        return response


@extend_schema(responses={204: None})
class TokenRevoke(APIView):
    """Revokes one of your tokens: from its next request on, it is refused
    (401). The token sending this request may revoke itself."""

    permission_classes = [IsPerson]

    def delete(self, request, token_key: str) -> Response:
        token = ApiToken.objects.filter(user=request.user, token_key=token_key).first()
        if token is None:
            raise Http404("No such token of yours; GET /api/v1/tokens/ lists them.")
        token.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("tokens/", TokenList.as_view(), name="tokens"),
    path("tokens/<slug:token_key>/", TokenRevoke.as_view(), name="token"),
]
