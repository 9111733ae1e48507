from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.receivers import HttpReceiver, SmtpServer, http_receiver, smtp_server
from toc.accounts.models import Membership, Role
from toc.metrics.models import ConstraintEvent


@pytest.fixture(autouse=True)
def quick_notifications(settings) -> None:
    # Tasks run in-process (tests/conftest.py), where Celery ignores a retry's
    # countdown; short timeouts keep a hanging receiver's test short.
    settings.NOTIFICATIONS_TIMEOUT_S = 1
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 4
    # The receivers listen on 127.0.0.1 (test_private_addresses turns it off).
    settings.NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "use_tls": False,
                    "timeout": 5,
                },
            }
        }
        yield server


@pytest.fixture
def admin_user(personas):
    return Membership.objects.get(team=personas.team, role=Role.ADMIN).user


@pytest.fixture
def moved(personas):
    """Makes a confirmed move of the constraint of "fraud", a few minutes ago."""

    def move(minutes_ago: int = 5, to: str = "inference") -> ConstraintEvent:
        at = timezone.now() - timedelta(minutes=minutes_ago)
        return ConstraintEvent.objects.create(
            system=personas.system,
            at=at,
            decided_minute=at.replace(second=0, microsecond=0) + timedelta(minutes=5),
            from_stage="features",
            to_stage=to,
            reason=f"The constraint moved from Features to {to.title()} and held.",
        )

    return move
