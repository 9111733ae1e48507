from __future__ import annotations

import json
import logging

from django.test import Client
from kombu.exceptions import OperationalError as BrokerError

from tests.metrics.samples import sample
from toc.metrics.models import PendingMinute, SystemLedger
from toc.metrics.tasks import enqueue_processing, process_system, sweep_pending
from toc.systems.services import stage_delete


def _broker_down(*args, **kwargs):
    raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_post_is_accepted_when_the_task_cannot_be_sent(
    personas,
    ingest_key,
    recent,
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
) -> None:
    monkeypatch.setattr(process_system, "apply_async", _broker_down)
    with (
        caplog.at_level(logging.WARNING, logger="toc.metrics.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = Client().post(
            "/api/v1/systems/fraud/samples/",
            json.dumps({"samples": [sample("ingest", recent)]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {ingest_key}"},
        )
    assert response.status_code == 202
    assert "Could not run processing" in caplog.text
    assert PendingMinute.objects.filter(system=personas.system).count() == 1
    # Released, so the sweeper sends it as soon as the broker is back.
    assert not SystemLedger.objects.get(system=personas.system).queued


def test_a_task_is_sent_once_without_retrying(personas, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(
        process_system, "apply_async", lambda *a, **kw: calls.append((a, kw))
    )
    enqueue_processing(personas.system.pk)
    assert calls == [(((personas.system.pk,),), {"retry": False})]


def test_processing_is_given_back_if_its_worker_dies_and_has_time_limits() -> None:
    assert process_system.acks_late
    assert process_system.reject_on_worker_lost
    assert process_system.time_limit and process_system.soft_time_limit
    assert sweep_pending.time_limit and sweep_pending.soft_time_limit


def test_owed_minutes_go_with_their_stage_and_system(personas, recent) -> None:
    # The table has no database constraints (ingest writes it on every batch);
    # the ORM's cascade is what removes the rows of a deleted stage or system.
    stages = {stage.slug: stage for stage in personas.system.stages.all()}
    for stage in stages.values():
        PendingMinute.objects.create(
            system=personas.system, stage=stage, minute=recent.replace(second=0)
        )
    stage_delete(stage=stages["features"])
    assert set(PendingMinute.objects.values_list("stage__slug", flat=True)) == {
        "ingest",
        "inference",
    }
    personas.system.delete()
    assert not PendingMinute.objects.exists()
