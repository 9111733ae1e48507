from __future__ import annotations

import os
import socket

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

app = Celery("toc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="toc.ping", soft_time_limit=5, time_limit=10)
def ping() -> str:
    """Names the process that ran it, which proves the broker wiring end to end."""
    return f"pong from {socket.gethostname()}:{os.getpid()}"
