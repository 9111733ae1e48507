"""The load_demo command. The story it loads is tested in test_demo_story.py; here
the demo comes without its five weeks of metrics, which these tests do not need."""

from __future__ import annotations

from functools import partial

import pytest
from django.core.management import CommandError, call_command

from toc.accounts.models import Membership, Team
from toc.demo import loader as demo
from toc.systems.models import Stage, StageKind, System

DEMO_STAGES = [
    "Ingest",
    "Feature-Tier1",
    "Feature-Tier2",
    "Feature-Tier3",
    "Inference",
    "Alerting",
    "Triage",
]


@pytest.fixture(autouse=True)
def without_history(monkeypatch) -> None:
    monkeypatch.setattr(
        "toc.demo.management.commands.load_demo.demo_load",
        partial(demo.demo_load, history=False),
    )


def test_load_demo_twice_gives_one_copy(db, settings, capsys) -> None:
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    assert Team.objects.filter(slug="demo").count() == 1
    assert System.objects.count() == 1
    assert Stage.objects.count() == 7
    assert Membership.objects.count() == 1
    assert "demo / demo" in capsys.readouterr().out


def test_demo_user_sees_seven_stages_in_order_the_analysts_last(
    db, settings, client
) -> None:
    settings.DEBUG = True
    call_command("load_demo")
    assert client.login(username="demo", password="demo")
    response = client.get("/systems/nad/stages/")
    content = response.content.decode()
    positions = [content.index(f">{name}<") for name in DEMO_STAGES]
    assert positions == sorted(positions)
    assert "2 people × 1.33 items an hour each" in content
    triage = Stage.objects.get(slug="triage")
    assert triage.kind == StageKind.HUMAN
    assert triage.known_capacity == pytest.approx(2 * 1.33 / 3600)


def test_load_demo_refuses_in_production(db, settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo")
    assert not Team.objects.exists()


def test_load_demo_with_force_in_production(db, settings) -> None:
    settings.DEBUG = False
    call_command("load_demo", force=True)
    assert Team.objects.filter(slug="demo").exists()


def test_demo_has_a_finished_cycle_and_one_in_progress(db, settings) -> None:
    from toc.cycles.chain import DONE, chain
    from toc.cycles.models import Cycle
    from toc.cycles.records import cycle_with_links

    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    finished, ongoing = cycle_with_links(Cycle.objects.order_by("number"))
    assert [step.state for step in chain(finished)] == [DONE] * 7
    assert finished.status == "closed"
    assert finished.outcome.rows.get(metric="Detection time (p95)").after == 3.2
    assert finished.outcome.next_constraint == "triage"
    assert ongoing.status == "open"
    assert ongoing.constraint.stage == "triage"
