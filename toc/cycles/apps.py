from __future__ import annotations

from django.apps import AppConfig


class CyclesConfig(AppConfig):
    name = "toc.cycles"
    label = "cycles"
