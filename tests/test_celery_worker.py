from __future__ import annotations

import os

import pytest
from celery.signals import worker_process_init, worker_ready

from tests.worker import running_worker
from toc.celery import ping


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_task_sent_through_the_broker_runs_on_a_real_worker(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with running_worker() as worker:
        result = ping.apply_async()
        # Eager tasks run earlier in this process leave Celery believing it is
        # inside a task, where joining is refused by default.
        answer = result.get(timeout=30, disable_sync_subtasks=False)
    assert answer.endswith(f":{worker.pid}")
    assert worker.pid != os.getpid()


@pytest.mark.parametrize("started", [worker_ready, worker_process_init])
def test_a_started_worker_keeps_start_up_objects_out_of_collections(
    started, gc_frozen_count
) -> None:
    started.send(sender=None)
    assert gc_frozen_count() > 0
