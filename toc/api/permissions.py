from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from toc.lib import ratelimit
from toc.systems.models import IngestKey


class IsPerson(BasePermission):
    """A signed-in person or their API token; an ingest key only posts samples."""

    message = "Ingest keys can only post samples; use a personal API token."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, IngestKey):
            return False
        return bool(request.user and request.user.is_authenticated)


class IsIngestKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, IngestKey)


class IngestThrottle(BaseThrottle):
    """Per sending key (or person) and per address; DRF answers 429 with an
    integer Retry-After when either is over its limit."""

    def allow_request(self, request, view) -> bool:
        sender = (
            f"key:{request.auth.pk}"
            if isinstance(request.auth, IngestKey)
            else f"user:{request.user.pk}"
        )
        try:
            ratelimit.hit_all(
                [
                    ("ingest-address", ratelimit.client_address(request)),
                    ("ingest-key", sender),
                ]
            )
        except ratelimit.RateLimited as limited:
            self.retry_after = limited.retry_after
            return False
        return True

    def wait(self) -> float:
        return self.retry_after
