"""gunicorn's settings, the same for the image, compose and the benchmarks.

`gunicorn toc.wsgi --config python:toc.gunicorn_conf --bind HOST:PORT`.

Threads: an ingest request spends about half its time waiting on PostgreSQL,
and a sync worker would sit idle through it while the next request queues.
Each thread keeps its own database connection, so a web container holds
workers × threads of them.
"""

import gc
import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")


def post_worker_init(worker) -> None:
    """Imports every view, then hides what the app holds from the collector.

    An ingest batch allocates thousands of objects, so Python's full
    collections come often, and each one walked the whole application (Django,
    DRF, every module and view) while every thread of the worker stood still:
    up to 150 ms under ingest load. Objects that live as long as the process
    need no collecting; frozen, they are skipped, and the longest pause is a
    few milliseconds.
    """
    from django.urls import get_resolver

    # Reading the URL patterns imports every view.
    get_resolver().url_patterns  # noqa: B018
    gc.freeze()
