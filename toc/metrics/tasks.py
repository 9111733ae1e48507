from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError

from toc.metrics.models import SystemLedger
from toc.metrics.partitions import partitions_make_ahead, retention_apply
from toc.metrics.processing import system_process
from toc.metrics.slo_budgets import budgets_evaluate
from toc.metrics.sweeper import pending_sweep

logger = logging.getLogger(__name__)


@shared_task(
    name="metrics.process_system",
    # Acknowledged only once done, and given back if the worker dies mid-task
    # (task_reject_on_worker_lost): processing is idempotent, so a rerun is safe.
    acks_late=True,
    reject_on_worker_lost=True,
    # Nobody reads the result; without a result, sending needs only the broker.
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)
def process_system(system_id: int) -> None:
    system_process(system_id=system_id)


@shared_task(
    name="metrics.sweep_pending",
    ignore_result=True,
    soft_time_limit=20,
    time_limit=30,
)
def sweep_pending() -> None:
    pending_sweep(enqueue=enqueue_processing)


def enqueue_processing(system_id: int) -> None:
    """Sends the processing task; the samples are already safe if that fails."""
    try:
        # One attempt, within the broker timeouts in settings: this runs inside
        # the ingest request, which must answer quickly whatever the broker does.
        process_system.apply_async((system_id,), retry=False)
    except Exception as error:
        # A broker outage (or, in-process, a processing error) must not turn an
        # acknowledged batch into an error: the pending minutes stay recorded,
        # and with the flag released the sweeper sends the task once it can.
        logger.warning(
            "Could not run processing for system %s: %s",
            system_id,
            error,
            # A broker error says it all; anything else is worth a traceback.
            exc_info=not isinstance(error, BrokerError | OSError),
        )
        SystemLedger.release(system_id)


@shared_task(
    name="metrics.prometheus_pull",
    ignore_result=True,
    # The pull stops asking after PULL_BUDGET_S (40 s); what it left is asked
    # for on the next one.
    soft_time_limit=60,
    time_limit=75,
)
def prometheus_pull(source_id: int) -> None:
    # Imported here: the pull stores through ingest, which imports this module.
    from toc.metrics.prometheus import source_pull

    source_pull(source_id=source_id)


@shared_task(
    name="metrics.prometheus_due",
    ignore_result=True,
    soft_time_limit=20,
    time_limit=30,
)
def prometheus_due() -> None:
    from toc.metrics.prometheus import sources_due

    for source_id in sources_due():
        prometheus_pull.delay(source_id)


def enqueue_pull(source_id: int) -> bool:
    """Sends a pull now; False if the broker could not take it (the beat's
    pulls on the interval are unaffected)."""
    try:
        prometheus_pull.apply_async((source_id,), retry=False)
    except Exception as error:
        logger.warning(
            "Could not queue a Prometheus pull of source %s: %s",
            source_id,
            error,
            exc_info=not isinstance(error, BrokerError | OSError),
        )
        return False
    return True


@shared_task(
    name="metrics.slo_budgets",
    ignore_result=True,
    # Every minute: a run that could not finish within the minute gives way
    # to the next one, which reads the same rollups a minute on.
    soft_time_limit=50,
    time_limit=60,
)
def slo_budgets() -> None:
    budgets_evaluate()


@shared_task(
    name="metrics.make_partitions",
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def make_partitions() -> None:
    partitions_make_ahead()


@shared_task(
    name="metrics.apply_retention",
    ignore_result=True,
    # Each drop waits a second at most for its lock; the rows it deletes are
    # an hour's worth once it runs hourly (backfills in the default partition,
    # or on SQLite the oldest hour), except on its first run.
    soft_time_limit=300,
    time_limit=330,
)
def apply_retention() -> None:
    retention_apply()
