from __future__ import annotations

import os
import socket

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

app = Celery("toc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule(sender: Celery, **kwargs) -> None:
    """The beat schedule: static, in code (no schedule in the database)."""
    from django.conf import settings

    interval = settings.TOC_SWEEP_INTERVAL_S
    sender.add_periodic_task(
        interval,
        sender.signature("metrics.sweep_pending"),
        name="sweep owed processing",
        # A sweep that waited a whole interval in the queue is superseded.
        expires=interval,
    )


@app.task(name="toc.ping", soft_time_limit=5, time_limit=10)
def ping() -> str:
    """Names the process that ran it, which proves the broker wiring end to end."""
    return f"pong from {socket.gethostname()}:{os.getpid()}"
