from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import IngestKeyFactory
from toc.demo.loader import demo_load
from toc.metrics.models import ConstraintEvent, Sample

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_STAGE_COUNT = 7


@pytest.fixture
def demo_key() -> str:
    return IngestKeyFactory(system=demo_load(history=False), name="simulator").plaintext


def test_simulated_demo_stores_every_sample_and_names_the_analysts(
    live_server, demo_key, client, capsys
) -> None:
    call_command(
        "simulate_pipeline",
        "nad",
        url=live_server.url,
        key=demo_key,
        duration=600,
        speed=0,
        batch=20,
    )

    assert Sample.objects.count() == 60 * DEMO_STAGE_COUNT
    assert "202: 140 accepted" in capsys.readouterr().out
    client.force_login(get_user_model().objects.get(username="demo"))
    ledger = client.get("/api/v1/systems/nad/ledger/").json()
    # The demo pipeline as its story leaves it: Triage is the constraint.
    assert ledger["constraint"]["stage"] == "triage"


def test_batches_over_the_sample_limit_are_split(live_server, demo_key, capsys) -> None:
    # 900 ticks x 7 stages = 6300 samples: one request of 5000 and one of 1300.
    call_command(
        "simulate_pipeline",
        "nad",
        url=live_server.url,
        key=demo_key,
        duration=900,
        interval=1,
        speed=0,
        batch=900,
    )

    out = capsys.readouterr().out
    assert "202: 5000 accepted" in out and "202: 1300 accepted" in out
    assert Sample.objects.count() == 6300


def test_wrong_key_fails_with_the_servers_401(live_server, demo_key) -> None:
    with pytest.raises(CommandError, match="401"):
        call_command(
            "simulate_pipeline",
            "nad",
            url=live_server.url,
            key="not-a-key",
            duration=60,
            speed=0,
        )

    assert not Sample.objects.exists()


def test_rejected_samples_fail_with_the_servers_errors(live_server, demo_key) -> None:
    with pytest.raises(
        CommandError, match=r"(?s)400 .*sample 0: ts is more than 5 minutes"
    ):
        call_command(
            "simulate_pipeline",
            "nad",
            "--start",
            "2999-01-01T00:00:00+00:00",
            url=live_server.url,
            key=demo_key,
            duration=60,
            speed=0,
        )

    assert not Sample.objects.exists()


def test_unknown_stage_in_a_change_is_refused_before_sending(demo_key) -> None:
    with pytest.raises(CommandError, match="Not stages of 'nad': nope"):
        call_command(
            "simulate_pipeline",
            "nad",
            "--change",
            "nope*2@60",
            url="http://127.0.0.1:9",
            key=demo_key,
            speed=0,
        )


def test_doubling_the_analysts_moves_the_constraint_away_from_them(
    live_server, demo_key
) -> None:
    # 40 minutes with the change at 15: room for the 5-minute window and the
    # 5-minute hold on both sides of it.
    start = (timezone.now() - timedelta(minutes=41)).replace(second=0, microsecond=0)
    change_at = start + timedelta(minutes=15)

    call_command(
        "simulate_pipeline",
        "nad",
        "--start",
        start.isoformat(),
        "--change",
        "triage*2@900",
        url=live_server.url,
        key=demo_key,
        duration=2400,
        speed=0,
        batch=30,
    )

    moves = ConstraintEvent.objects.filter(system__slug="nad").order_by("at")
    assert [(move.from_stage, move.to_stage) for move in moves] == [
        ("", "triage"),
        ("triage", ""),
    ]
    assert change_at <= moves[1].at <= change_at + timedelta(minutes=5)
