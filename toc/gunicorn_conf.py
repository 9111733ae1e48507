"""gunicorn's settings, the same for the image, compose and the benchmarks.

`gunicorn toc.wsgi --config python:toc.gunicorn_conf --bind HOST:PORT`.

Threads: an ingest request spends about half its time waiting on PostgreSQL,
and a sync worker would sit idle through it while the next request queues.
Each thread keeps its own database connection, so a web container holds
workers × threads of them.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
