"""A real Celery worker in a subprocess, on the configured broker and test database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from kombu.exceptions import OperationalError

from toc.celery import app

ROOT = Path(__file__).resolve().parent.parent


def broker_or_skip() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url:
        pytest.skip(
            "CELERY_BROKER_URL is not set: worker tests need a real broker, "
            "e.g. CELERY_BROKER_URL=redis://127.0.0.1:6379/15 make test"
        )
    try:
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except (OperationalError, OSError) as error:
        pytest.skip(f"Broker at {url} is unreachable: {error}")
    return url


def worker_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "localhost"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


@contextmanager
def running_worker(
    *, queue: str = "", log: Path | None = None, loglevel: str = "WARNING"
) -> Iterator[subprocess.Popen]:
    """Starts a worker on a queue of its own so no other worker steals the tasks.

    The queue (a fresh name unless given) also names the worker's node,
    ``<queue>@<host>``; with `log`, the worker's output goes to that file.
    """
    broker_or_skip()
    queue = queue or f"toc-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "CELERY_QUEUE": queue,
        "DEBUG": "1",
    }
    output = log.open("ab") if log else None
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "toc",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
            f"--hostname={queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
    previous = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        yield worker
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = previous
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        if output:
            output.close()
