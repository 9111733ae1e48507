"""`Authorization: Bearer <secret>` for both kinds of secret, told apart by prefix.

`tocik_…` is a system's ingest key; `tocpat_…` a person's API token (knox).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from toc.accounts.models import ApiToken
from toc.systems.models import IngestKey

# Writing last_used on every request would turn each read into a write.
LAST_USED_RESOLUTION_S = 60


class BearerAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as: Authorization: Bearer <token>."
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None

        if secret.startswith(IngestKey.PREFIX):
            key = IngestKey.find(secret)
            if key is None:
                raise exceptions.AuthenticationFailed("Invalid or revoked ingest key.")
            _touch(IngestKey, key)
            return AnonymousUser(), key

        token = ApiToken.find(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        _touch(ApiToken, token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


def _touch(model, secret) -> None:
    now = timezone.now()
    last = secret.last_used
    if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_S:
        model.objects.filter(pk=secret.pk).update(last_used=now)
