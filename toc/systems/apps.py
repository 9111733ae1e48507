from __future__ import annotations

from django.apps import AppConfig


class SystemsConfig(AppConfig):
    name = "toc.systems"
    label = "systems"
