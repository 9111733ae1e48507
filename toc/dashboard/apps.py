from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """A system's pages: the constraint card, the ledger, what-if, the charts and
    the timeline of moves."""

    name = "toc.dashboard"
    verbose_name = "Dashboard"
