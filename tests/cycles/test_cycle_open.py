from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tests.metrics.samples import steady_pipeline
from toc.cycles.models import Cycle, Problem
from toc.cycles.services import cycle_close


def test_editor_opens_cycles_numbered_per_system(personas) -> None:
    first = personas.teammate.post("/systems/fraud/cycles/", {"title": "One"})
    cycle_close(cycle=Cycle.objects.get(number=1))
    second = personas.teammate.post("/systems/fraud/cycles/", {"title": "Two"})
    assert first["Location"] == "/systems/fraud/cycles/1/"
    assert second["Location"] == "/systems/fraud/cycles/2/"
    assert list(Cycle.objects.values_list("number", "title")) == [
        (2, "Two"),
        (1, "One"),
    ]


def test_a_new_cycle_has_every_link_and_records_the_systems_slos(cycle) -> None:
    assert [slo["dimension"] for slo in cycle.slos_opened] == [
        "time_to_decision",
        "decision_budget",
        "outcome_weighted",
        "coverage",
        "data_loss",
    ]
    assert cycle.slos_closed is None
    for link in ("constraint", "problem", "conflict", "innovation", "experiment"):
        assert getattr(cycle, link).pk
    assert [p.name for p in cycle.rollout.phases.all()] == [
        "Shadow",
        "Canary 10%",
        "25%",
        "50%",
        "75%",
        "Full",
    ]


def test_the_database_allows_one_record_per_link(cycle) -> None:
    with pytest.raises(IntegrityError):
        Problem.objects.create(cycle=cycle)


def _post_pipeline(post_samples, minutes_ago: int, busy: dict[str, float]) -> None:
    """Ten minutes of samples ending ``minutes_ago``."""
    start = (timezone.now() - timedelta(minutes=minutes_ago + 10)).replace(
        microsecond=0
    )
    post_samples(steady_pipeline(["ingest", "features", "inference"], start, 10, busy))


def test_the_held_constraint_is_preselected_with_a_snapshot(post_samples, personas):
    _post_pipeline(post_samples, 1, {"features": 0.95})

    personas.teammate.post("/systems/fraud/cycles/", {"title": "One"})

    choice = Cycle.objects.get().constraint
    assert (choice.stage, choice.detected_stage) == ("features", "features")
    assert "Features runs at 95%" in choice.reason
    assert choice.ledger_snapshot["held"]["stage"] == "features"


def test_a_stale_ledger_is_never_preselected(post_samples, personas) -> None:
    _post_pipeline(post_samples, 20, {"features": 0.95})

    personas.teammate.post("/systems/fraud/cycles/", {"title": "One"})

    choice = Cycle.objects.get().constraint
    assert (choice.stage, choice.detected_stage) == ("", "")
    assert choice.reason.startswith("Not pre-selected: the ledger has had no data for")
    assert choice.ledger_snapshot["stale"] is True


def test_the_next_cycle_opens_where_the_outcome_says_the_constraint_went(
    post_samples, personas, cycle
) -> None:
    # The live ledger still has Features; the team's outcome says Inference.
    _post_pipeline(post_samples, 1, {"features": 0.95})
    cycle.outcome.next_constraint = "inference"
    cycle.outcome.save()
    page = personas.teammate.get(f"/systems/fraud/cycles/{cycle.number}/outcome/")
    assert "The ledger has <strong>Features</strong> holding the constraint now." in (
        page.content.decode()
    )
    assert "on the stage chosen above" in page.content.decode()

    personas.teammate.post(f"/systems/fraud/cycles/{cycle.number}/next/")

    choice = Cycle.objects.get(number=cycle.number + 1).constraint
    assert (choice.stage, choice.stage_name) == ("inference", "Inference")
    assert choice.detected_stage == "features"
    assert choice.reason == (
        f"Where cycle {cycle.number}'s outcome says the constraint went."
    )


@pytest.mark.parametrize(("minutes_ago", "chosen"), [(1, "features"), (20, "")])
def test_without_an_outcome_the_next_cycle_takes_only_a_fresh_ledger(
    post_samples, personas, cycle, minutes_ago: int, chosen: str
) -> None:
    _post_pipeline(post_samples, minutes_ago, {"features": 0.95})

    personas.teammate.post(f"/systems/fraud/cycles/{cycle.number}/next/")

    assert Cycle.objects.get(number=cycle.number + 1).constraint.stage == chosen


def test_empty_title_keeps_the_form(personas) -> None:
    response = personas.teammate.post("/systems/fraud/cycles/", {"title": ""})
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert not Cycle.objects.exists()


def test_viewer_cannot_open_a_cycle(personas) -> None:
    response = personas.viewer.post("/systems/fraud/cycles/", {"title": "No"})
    assert response.status_code == 403
    assert not Cycle.objects.exists()


def test_outsider_gets_404(personas, cycle) -> None:
    assert personas.outsider.get("/systems/fraud/cycles/").status_code == 404
    assert personas.outsider.get("/systems/fraud/cycles/1/").status_code == 404
    response = personas.outsider.post("/systems/fraud/cycles/", {"title": "No"})
    assert response.status_code == 404


def test_cycle_list_and_overview(personas, cycle) -> None:
    listing = personas.viewer.get("/systems/fraud/cycles/").content.decode()
    assert "Features saturate" in listing
    overview = personas.viewer.get("/systems/fraud/cycles/1/").content.decode()
    assert "Set a target for at least one of the system&#x27;s SLOs." in overview
    assert overview.count("chain__step--missing") == 7
