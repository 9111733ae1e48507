from __future__ import annotations

import gc
import os
import socket

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

app = Celery("toc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

PROMETHEUS_DUE_EVERY_S = 15
# The error budgets' newest slice is a minute (toc.metrics.slo_budgets).
SLO_BUDGETS_EVERY_S = 60
# Partitions are made days ahead and dropped a day at a time: hourly is plenty,
# and a run that could not have its locks tries again within the hour.
STORAGE_EVERY_S = 3600


@app.on_after_configure.connect
def _schedule(sender: Celery, **kwargs) -> None:
    """The beat schedule: static, in code (no schedule in the database)."""
    from django.conf import settings

    # Every entry expires after its own interval: a run that waited that long
    # in the queue is superseded by the next one.
    for every_s, task, name in [
        (
            settings.TOC_SWEEP_INTERVAL_S,
            "metrics.sweep_pending",
            "sweep owed processing",
        ),
        (
            settings.NOTIFICATIONS_SCAN_INTERVAL_S,
            "notifications.scan",
            "record and send notifications",
        ),
        # Each source's own interval decides when it pulls; this only looks,
        # so a pull starts at most this late (prometheus.sources_due).
        (
            PROMETHEUS_DUE_EVERY_S,
            "metrics.prometheus_due",
            "pull from Prometheus sources that are due",
        ),
        (
            SLO_BUDGETS_EVERY_S,
            "metrics.slo_budgets",
            "evaluate the error budgets of live SLOs",
        ),
        (
            STORAGE_EVERY_S,
            "metrics.make_partitions",
            "make the partitions of the coming days",
        ),
        (
            STORAGE_EVERY_S,
            "metrics.apply_retention",
            "drop samples and rollups past retention",
        ),
        (
            STORAGE_EVERY_S,
            "notifications.prune",
            "delete notification events past retention",
        ),
    ]:
        sender.add_periodic_task(
            every_s, sender.signature(task), name=name, expires=every_s
        )


@worker_ready.connect  # the worker's own process: it runs the tasks of a solo pool
@worker_process_init.connect  # each process of a prefork pool
def _freeze_start_up_objects(**kwargs) -> None:
    """Keeps what the worker holds from start-up out of Python's collections,
    as gunicorn's workers do (toc/gunicorn_conf.py): a processing run allocates
    thousands of objects, and each full collection walked all of them."""
    gc.freeze()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """Closes database connections that broke or outlived CONN_MAX_AGE, before
    and after each task (CELERY_DB_REUSE_MAX keeps the others open)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # in a request or a test: its connection is not ours to close
    from django.db import close_old_connections

    close_old_connections()


@app.task(name="toc.ping", soft_time_limit=5, time_limit=10)
def ping() -> str:
    """Names the process that ran it, which proves the broker wiring end to end."""
    return f"pong from {socket.gethostname()}:{os.getpid()}"
