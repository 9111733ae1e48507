from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from toc.metrics.processing import system_process

logger = logging.getLogger(__name__)


@shared_task(
    name="metrics.process_system",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)
def process_system(system_id: int) -> None:
    system_process(system_id=system_id)


def enqueue_processing(system_id: int) -> None:
    """Sends the processing task; the samples are already safe if that fails."""
    try:
        process_system.delay(system_id)
    except Exception:
        # A broker outage (or, in-process, a processing error) must not turn an
        # acknowledged batch into an error: the pending minutes stay recorded
        # and the next batch, after QUEUED_STALE, claims the work again.
        logger.exception("Could not run processing for system %s", system_id)
