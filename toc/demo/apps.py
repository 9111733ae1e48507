from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: a story of 35 days loaded into the database, the pipeline
    simulation that wrote it, and the commands that load it or post live."""

    name = "toc.demo"
    verbose_name = "Demo"
