"""Ingest to ledger through the real broker and a real worker, on committed data."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import (
    IngestKeyFactory,
    MembershipFactory,
    StageFactory,
    SystemFactory,
)
from tests.metrics.samples import sample, steady_pipeline
from tests.worker import running_worker
from toc.accounts.models import Role
from toc.metrics.models import Sample

pytestmark = pytest.mark.django_db(transaction=True)
STAGES = ["ingest", "features", "inference"]


@pytest.fixture
def pipeline():
    membership = MembershipFactory(role=Role.VIEWER)
    system = SystemFactory(team=membership.team, slug="live")
    for slug in STAGES:
        StageFactory(system=system, slug=slug, name=slug.title())
    key = IngestKeyFactory(system=system, name="k").plaintext
    reader = Client()
    reader.force_login(membership.user)
    return key, reader


def _post(key: str, samples: list[dict]):
    return Client().post(
        "/api/v1/systems/live/samples/",
        json.dumps({"samples": samples}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.mark.worker
def test_ledger_shows_the_constraint_after_a_post(pipeline) -> None:
    key, reader = pipeline
    start = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    samples = steady_pipeline(
        STAGES, start, 6, {"inference": 0.97}, growing="inference"
    )
    with running_worker():
        assert _post(key, samples).status_code == 202
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ledger = reader.get("/api/v1/systems/live/ledger/").json()
            if ledger["constraint"]:
                break
            time.sleep(0.1)
    assert ledger["constraint"]["stage"] == "inference"
    assert "97%" in ledger["constraint"]["reason"]


def test_concurrent_posters_store_every_sample_exactly_once(pipeline) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL; SQLite serialises them.")
    key, _ = pipeline
    start = timezone.now() - timedelta(hours=1)
    # Eight posters whose batches overlap pairwise, as retries would.
    batches = [
        [
            sample(STAGES[i % 3], start + timedelta(seconds=j))
            for j in range(n * 100, n * 100 + 200)
            for i in range(1)
        ]
        for n in range(8)
    ]
    statuses: list[int] = []

    def post(batch: list[dict]) -> None:
        statuses.append(_post(key, batch).status_code)
        connection.close()

    threads = [threading.Thread(target=post, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [202] * 8
    expected = {(b["stage"], b["ts"]) for batch in batches for b in batch}
    assert Sample.objects.count() == len(expected) == 900
