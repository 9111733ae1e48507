from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "toc.api"
    label = "api"

    def ready(self) -> None:
        # Registers the schema extensions with drf-spectacular.
        from toc.api import schema  # noqa: F401
