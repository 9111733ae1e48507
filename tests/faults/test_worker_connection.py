"""A worker keeps its database connection from one task to the next, and a
connection that broke in between is replaced before the next task uses it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import IngestKeyFactory, StageFactory, SystemFactory
from tests.metrics.samples import steady_pipeline
from tests.worker import running_worker
from toc.metrics.models import SystemLedger

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
STAGES = ["ingest", "features", "inference"]


def _worker_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def _post_and_wait(key: str, system_id: int, start) -> None:
    samples = steady_pipeline(STAGES, start, 2, {"inference": 0.9})
    response = Client().post(
        "/api/v1/systems/kept/samples/",
        json.dumps({"samples": samples}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 202
    last = max(sample["ts"] for sample in samples)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ledger = SystemLedger.objects.filter(system_id=system_id).first()
        if ledger and ledger.window_end and ledger.window_end.isoformat() == last:
            return
        time.sleep(0.05)
    pytest.fail(f"the worker did not process the batch ending {last} in 20 s")


def test_a_worker_reuses_its_connection_and_replaces_a_broken_one() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Counting and ending a worker's backends needs PostgreSQL.")
    system = SystemFactory(slug="kept")
    for slug in STAGES:
        StageFactory(system=system, slug=slug)
    key = IngestKeyFactory(system=system).plaintext
    start = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    with running_worker():
        _post_and_wait(key, system.pk, start)
        backends = _worker_backends()
        assert len(backends) == 1, "the worker keeps one connection between tasks"
        for batch in range(1, 4):
            _post_and_wait(key, system.pk, start + timedelta(minutes=2 * batch))
        # Three more tasks, on the same backend: no connection opened per task.
        assert _worker_backends() == backends

        with connection.cursor() as cursor:
            for pid in backends:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The next task finds its connection gone and opens another.
        _post_and_wait(key, system.pk, start + timedelta(minutes=10))
        replaced = _worker_backends()
        assert len(replaced) == 1 and replaced.isdisjoint(backends)
