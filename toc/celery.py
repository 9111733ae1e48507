from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

app = Celery("toc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="toc.ping", time_limit=10)
def ping() -> str:
    """Answers from whichever worker picks it up; proves the broker wiring."""
    return "pong"
