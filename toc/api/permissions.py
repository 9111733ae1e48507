from __future__ import annotations

from rest_framework.permissions import BasePermission

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
