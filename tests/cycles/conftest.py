from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from toc.cycles.models import Cycle
from toc.cycles.trail import SOURCES

BASE = "/systems/fraud/cycles/1"


def backdate(days: int) -> None:
    """Moves every cycle and all history recorded so far `days` into the past."""
    for source in SOURCES:
        source.model.history.all().update(
            history_date=F("history_date") - timedelta(days=days)
        )
    Cycle.objects.update(created=F("created") - timedelta(days=days))


def day_ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days)).date().isoformat()
