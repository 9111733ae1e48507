from __future__ import annotations

import pytest

from tests.database import database_unreachable
from tests.worker import broker_or_skip


def test_healthz_reports_database_and_broker(db, client, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "in-process"}


def test_healthz_needs_no_login(db, client) -> None:
    assert client.get("/healthz").status_code in (200, 503)


def test_unreachable_broker_is_reported_but_not_fatal(db, client, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "unreachable"
    assert response.json()["status"] == "degraded"


@pytest.mark.django_db(transaction=True)
def test_unreachable_database_is_a_503_naming_it(client, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with database_unreachable():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "database": "unreachable",
        "broker": "in-process",
    }


def test_reachable_broker_is_ok(db, client, settings) -> None:
    broker_or_skip()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
