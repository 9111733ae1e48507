from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tests.metrics.samples import steady_pipeline
from toc.cycles.models import Cycle, Problem, SloDimension


def test_editor_opens_cycles_numbered_per_system(personas) -> None:
    first = personas.teammate.post("/systems/fraud/cycles/", {"title": "One"})
    second = personas.teammate.post("/systems/fraud/cycles/", {"title": "Two"})
    assert first["Location"] == "/systems/fraud/cycles/1/"
    assert second["Location"] == "/systems/fraud/cycles/2/"
    assert list(Cycle.objects.values_list("number", "title")) == [
        (2, "Two"),
        (1, "One"),
    ]


def test_a_new_cycle_has_every_link_and_the_standard_slos(cycle) -> None:
    assert {slo.dimension for slo in cycle.slos.all()} == set(SloDimension.values) - {
        SloDimension.CUSTOM
    }
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


def test_the_detected_constraint_is_preselected_with_a_snapshot(post_samples, personas):
    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    post_samples(
        steady_pipeline(
            ["ingest", "features", "inference"],
            start,
            10,
            {"features": 0.95},
            growing="features",
        )
    )
    personas.teammate.post("/systems/fraud/cycles/", {"title": "One"})
    choice = Cycle.objects.get().constraint
    assert (choice.stage, choice.detected_stage) == ("features", "features")
    assert "Features runs at 95%" in choice.reason
    assert choice.ledger_snapshot["constraint"]["stage"] == "features"


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
    assert "Set a target for at least one SLO." in overview
    assert overview.count("chain__step--missing") == 7
