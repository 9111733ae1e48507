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

    interval = settings.TOC_SWEEP_INTERVAL_S
    sender.add_periodic_task(
        interval,
        sender.signature("metrics.sweep_pending"),
        name="sweep owed processing",
        # A sweep that waited a whole interval in the queue is superseded.
        expires=interval,
    )
    scan = settings.NOTIFICATIONS_SCAN_INTERVAL_S
    sender.add_periodic_task(
        scan,
        sender.signature("notifications.scan"),
        name="record and send notifications",
        expires=scan,
    )
    # Each source's own interval decides when it pulls; this only looks, so
    # a pull starts at most this late (toc.metrics.prometheus.sources_due).
    sender.add_periodic_task(
        PROMETHEUS_DUE_EVERY_S,
        sender.signature("metrics.prometheus_due"),
        name="pull from Prometheus sources that are due",
        expires=PROMETHEUS_DUE_EVERY_S,
    )
    sender.add_periodic_task(
        SLO_BUDGETS_EVERY_S,
        sender.signature("metrics.slo_budgets"),
        name="evaluate the error budgets of live SLOs",
        expires=SLO_BUDGETS_EVERY_S,
    )
    sender.add_periodic_task(
        STORAGE_EVERY_S,
        sender.signature("metrics.make_partitions"),
        name="make the partitions of the coming days",
        expires=STORAGE_EVERY_S,
    )
    sender.add_periodic_task(
        STORAGE_EVERY_S,
        sender.signature("metrics.apply_retention"),
        name="drop samples and rollups past retention",
        expires=STORAGE_EVERY_S,
    )
    sender.add_periodic_task(
        STORAGE_EVERY_S,
        sender.signature("notifications.prune"),
        name="delete notification events past retention",
        expires=STORAGE_EVERY_S,
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
