from __future__ import annotations

from celery import shared_task

from toc.notifications import services


@shared_task(name="notifications.scan", soft_time_limit=30, time_limit=45)
def scan() -> int:
    """Records new occurrences and sends what is owed; beat runs it."""
    owed = services.events_scan()
    for delivery_id, attempts in owed:
        deliver.delay(delivery_id, attempts)
    return len(owed)


@shared_task(name="notifications.deliver", soft_time_limit=30, time_limit=45)
def deliver(delivery_id: int, attempts: int) -> None:
    """One attempt at a delivery; after a failure, the next one is sent to run
    later, each wait twice the one before (services.backoff_s). A next attempt
    that cannot be queued is found owed by the scan."""
    wait = services.delivery_attempt(delivery_id=delivery_id, attempts=attempts)
    if wait is not None:
        deliver.apply_async((delivery_id, attempts + 1), countdown=wait)


@shared_task(name="notifications.prune", soft_time_limit=300, time_limit=330)
def prune() -> int:
    """Deletes events past NOTIFICATIONS_RETENTION_DAYS; beat runs it hourly."""
    return services.events_prune()
