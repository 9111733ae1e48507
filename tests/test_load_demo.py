from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from toc.accounts.models import Membership, Team
from toc.systems.models import Stage, System

DEMO_STAGES = [
    "Ingest",
    "Feature-Tier1",
    "Feature-Tier2",
    "Feature-Tier3",
    "Inference",
    "Alerting",
]


def test_load_demo_twice_gives_one_copy(db, settings, capsys) -> None:
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    assert Team.objects.filter(slug="demo").count() == 1
    assert System.objects.count() == 1
    assert Stage.objects.count() == 6
    assert Membership.objects.count() == 1
    assert "demo / demo" in capsys.readouterr().out


def test_demo_user_sees_six_stages_in_order(db, settings, client) -> None:
    settings.DEBUG = True
    call_command("load_demo")
    assert client.login(username="demo", password="demo")
    response = client.get("/systems/nad/stages/")
    content = response.content.decode()
    positions = [content.index(f">{name}<") for name in DEMO_STAGES]
    assert positions == sorted(positions)


def test_load_demo_refuses_in_production(db, settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo")
    assert not Team.objects.exists()


def test_load_demo_with_force_in_production(db, settings) -> None:
    settings.DEBUG = False
    call_command("load_demo", force=True)
    assert Team.objects.filter(slug="demo").exists()


@pytest.fixture
def demo_client(db, settings, client, django_capture_on_commit_callbacks):
    """The demo loaded, its processing run, and its user logged in."""
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo")
    client.login(username="demo", password="demo")
    return client


def test_demo_page_shows_feature_tier2_as_the_constraint(demo_client) -> None:
    content = demo_client.get("/systems/nad/").content.decode()
    constraint_row = content[content.index('class="row--constraint') :]
    assert constraint_row.index("Feature-Tier2") < constraint_row.index("</tr>")
    assert "Feature-Tier2 runs at 100% utilization with its queue growing" in content
    assert "Feature-Tier1" in content[content.index("Next constraint") :]


def test_demo_has_a_finished_cycle_and_one_in_progress(db, settings) -> None:
    from toc.cycles.chain import DONE, chain, cycle_with_links
    from toc.cycles.models import Cycle

    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    finished, ongoing = cycle_with_links(Cycle.objects.order_by("number"))
    assert [step.state for step in chain(finished)] == [DONE] * 7
    assert finished.status == "closed"
    assert finished.outcome.rows.get(metric="Detection time (p95)").after == 3.2
    assert ongoing.status == "open"
    assert ongoing.constraint.stage == "alerting"


def test_the_demos_open_cycle_is_told_the_constraint_is_feature_tier2_again(
    demo_client,
) -> None:
    # Cycle 1 moved the constraint to Alerting, where cycle 2 works; the live
    # hour has Feature-Tier2 limiting again, and the open cycle says so.
    ongoing = demo_client.get("/systems/nad/cycles/2/").content.decode()
    assert "finds <strong>Feature-Tier2</strong> to be the constraint" in ongoing
    assert "not Alerting" in ongoing
    finished = demo_client.get("/systems/nad/cycles/1/").content.decode()
    assert "The live ledger now finds" not in finished
