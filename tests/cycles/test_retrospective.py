from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.cycles.conftest import BASE, ROSE, backdate, day_ago
from toc.cycles.models import (
    Assumption,
    Criterion,
    Decision,
    OutcomeRow,
    Tier,
    ValidationExperiment,
    Why,
)

RETRO = f"{BASE}/retrospective/"


@pytest.fixture
def full_cycle(cycle):
    """A cycle with something in every link."""
    slo = cycle.system.slos.get(dimension="time_to_decision")
    slo.target, slo.measured = 5, 47
    slo.save()
    coverage = cycle.system.slos.get(dimension="coverage")
    coverage.target, coverage.measured = 95, 97
    coverage.save()
    choice = cycle.constraint
    choice.stage, choice.stage_name = "features", "Features"
    choice.reason = "Runs at 95% with a growing queue."
    choice.save()
    Why.objects.create(
        problem=cycle.problem,
        position=0,
        answer="It computes 47 features per record.",
        evidence="Profiling shows 89% of time in 12% of features.",
        validated=True,
    )
    broken = Assumption.objects.create(
        conflict=cycle.conflict,
        arrow="b_d",
        text="Every record needs the same depth.",
        verdict="does_not_hold",
        reasoning="Routine lookups need less.",
    )
    conflict = cycle.conflict
    conflict.objective, conflict.need_b = "Catch attacks in time", "Rich analysis"
    conflict.broken_assumption = broken
    conflict.save()
    cycle.innovation.summary = "Progressive analysis in tiers."
    cycle.innovation.patterns = ["cascade"]
    cycle.innovation.save()
    Tier.objects.create(
        innovation=cycle.innovation,
        position=0,
        name="Tier-1 triage",
        traffic_share=1,
        exit_share=0.68,
        latency_ms=3,
    )
    Criterion.objects.create(
        experiment=cycle.experiment,
        metric="False negatives",
        comparator="==",
        threshold=0,
        result=0,
    )
    cycle.experiment.decision = Decision.GO
    cycle.experiment.save()
    OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="Detection time", before=47, after=3.2, unit="min"
    )
    return cycle


def test_every_link_of_the_chain_in_order(personas, full_cycle) -> None:
    response = personas.viewer.get(RETRO)

    assert response.status_code == 200
    content = response.content.decode()
    headings = [
        "1 · Goal and constraint",
        "2 · Problem",
        "3 · Conflict",
        "4 · Innovation",
        "5 · Experiment",
        "6 · Rollout",
        "7 · Outcome",
    ]
    positions = [content.index(h) for h in headings]
    assert positions == sorted(positions)
    s = response.context["s"]
    statuses = {row.slo.name: row.latest.status for row in s.goal}
    assert statuses["Time to decision (p95)"] == "violated"
    assert statuses["Coverage of relevant events"] == "met"
    assert "state--slo-violated" in content and "state--slo-met" in content
    for text in (
        "Runs at 95% with a growing queue.",
        "Profiling shows 89% of time in 12% of features.",
        "Does not hold",
        "Tier-1 triage",
        "Cascade filtering",
        "False negatives",
        "Canary 10%",  # the standard rollout phases
        "15× faster",
    ):
        assert text in content, text
    assert s.broken_assumption.text == "Every record needs the same depth."
    assert s.verdict == "passed"


def test_it_links_a_print_stylesheet_that_hides_the_controls(personas, cycle) -> None:
    content = personas.viewer.get(RETRO).content.decode()
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in (
        content
    )
    css = (Path(settings.BASE_DIR) / "static/css/print.css").read_text()
    assert "@media print" in css
    for hidden in (".topbar", "nav", "form", ".button"):
        assert hidden in css


def test_exports_are_linked(personas, cycle) -> None:
    content = personas.viewer.get(RETRO).content.decode()
    assert f'href="{BASE}/export.md"' in content
    assert f'href="{BASE}/export.json"' in content


def test_free_text_is_escaped(personas, cycle) -> None:
    Why.objects.create(
        problem=cycle.problem, position=0, answer="<img src=x onerror=alert(1)>"
    )
    content = personas.viewer.get(RETRO).content.decode()
    assert "<img src=x" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content


def test_as_of_shows_the_cycle_before_a_later_edit(personas, cycle) -> None:
    Why.objects.create(problem=cycle.problem, position=0, answer="Old why")
    backdate(10)
    personas.teammate.post(
        f"{BASE}/problem/",
        {"form": "problem", "problem-statement": "Written today"},
    )
    personas.teammate.post(f"{BASE}/whys/add/", {"new-whys-answer": "New why"})

    past = personas.viewer.get(RETRO, {"as_of": day_ago(5)})
    now = personas.viewer.get(RETRO)

    assert past.status_code == 200
    past_content = past.content.decode()
    assert "Written today" not in past_content
    assert "New why" not in past_content
    assert "Old why" in past_content
    assert f"As it stood on {day_ago(5)} 23:59 UTC" in past_content
    assert past.context["s"].as_of is not None
    assert "Written today" in now.content.decode()
    assert "New why" in now.content.decode()


def test_as_of_brings_back_deleted_rows_and_old_values(personas, cycle) -> None:
    why = Why.objects.create(problem=cycle.problem, position=0, answer="Kept then")
    backdate(10)
    personas.teammate.post(f"{BASE}/whys/{why.pk}/delete/")
    slo = cycle.system.slos.get(dimension="coverage")
    slo.target = 99
    slo.save()

    s = personas.viewer.get(RETRO, {"as_of": day_ago(3)}).context["s"]

    assert [w.answer for w in s.whys] == ["Kept then"]
    targets = {row.slo.name: row.slo.target for row in s.goal}
    assert targets["Coverage of relevant events"] is None


def test_as_of_a_time_ofday_ago(personas, cycle) -> None:
    backdate(2)
    cycle.problem.statement = "Later that day"
    cycle.problem.save()
    moment = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    content = personas.viewer.get(RETRO, {"as_of": moment}).content.decode()
    assert "Later that day" not in content
    assert f"As it stood on {moment} UTC" in content


def test_as_of_before_the_cycle_existed_says_so(personas, cycle) -> None:
    response = personas.viewer.get(RETRO, {"as_of": "2001-01-01"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "did not exist yet on 2001-01-01" in content
    assert response.context["s"] is None
    assert "1 · Goal and constraint" not in content


def test_as_of_with_a_far_offset_is_read_in_utc(personas, cycle) -> None:
    response = personas.viewer.get(RETRO, {"as_of": "2001-01-01T00:00:00+23:59"})
    assert response.status_code == 200
    assert "did not exist yet on 2000-12-31" in response.content.decode()


@pytest.mark.parametrize(
    "typed", ["yesterday", "2025-02-30", "2999-01-01", "0001-01-01T00:00:00+01:00"]
)
def test_an_unusable_date_shows_an_error_and_the_cycle_now(
    personas, cycle, typed
) -> None:
    response = personas.viewer.get(RETRO, {"as_of": typed})
    assert response.status_code == 200
    assert "as_of" in response.context["form"].errors
    content = response.content.decode()
    assert f'value="{typed}"' in content
    assert 'id="id_as_of_error"' in content
    assert response.context["s"].as_of is None


@pytest.mark.parametrize("query", [{}, {"as_of": "2020-01-01"}])
def test_outsider_gets_404(personas, cycle, query) -> None:
    assert personas.outsider.get(RETRO, query).status_code == 404


def test_a_closed_cycle_shows_its_goal_as_it_recorded_it(personas, cycle) -> None:
    slo = cycle.system.slos.get(dimension="time_to_decision")
    slo.target, slo.measured = 5, 47
    slo.save()
    personas.teammate.post(f"{BASE}/next/")
    slo.measured = 3  # measured again in the next cycle
    slo.save()

    s = personas.viewer.get(RETRO).context["s"]

    assert s.cycle.status == "closed"
    row = next(row for row in s.goal if row.slo.name == "Time to decision (p95)")
    assert (row.opened.measured, row.latest.measured) == (None, 47)
    assert row.latest.status == "violated"
    nxt = personas.viewer.get("/systems/fraud/cycles/2/retrospective/").context["s"]
    row = next(row for row in nxt.goal if row.slo.name == "Time to decision (p95)")
    assert (row.opened.measured, row.latest.measured) == (47, 3)


def test_the_validation_verdict_is_told_with_the_experiment(
    personas, validation_run
) -> None:
    validation_run(1_300.0)

    content = personas.viewer.get(RETRO).content.decode()

    assert "Features got 2.5× its capacity" in content
    assert ROSE in content


def test_a_closed_cycle_tells_its_verdict_with_the_names_it_closed_with(
    personas, validation_run
) -> None:
    validation_run(1_300.0)
    personas.teammate.post(f"{BASE}/next/")
    _rename(personas, {"features": "Feature store"})

    content = personas.viewer.get(RETRO).content.decode()

    assert "Features got 2.5× its capacity" in content
    assert "Feature store" not in content


def _rename(personas, renames: dict[str, str]) -> None:
    for slug, name in renames.items():
        stage = personas.system.stages.get(slug=slug)
        stage.name = name
        stage.save()


def _stage_names_told(personas) -> tuple[str, str]:
    s = personas.viewer.get(RETRO).context["s"]
    markdown = personas.viewer.get(f"{BASE}/export.md").content.decode()
    assert f"{s.validation_stage_name} with 3× capacity" in markdown
    assert f"Where the constraint went: {s.next_constraint_name}" in markdown
    return s.validation_stage_name, s.next_constraint_name


@pytest.fixture
def tried(cycle):
    """The cycle's validation ran on Features; its outcome says the constraint
    went to Inference."""
    started = timezone.now() - timedelta(days=2)
    ValidationExperiment.objects.create(
        cycle=cycle,
        stage="features",
        capacity_factor=3,
        started=started,
        ended=started + timedelta(days=1),
    )
    cycle.outcome.next_constraint = "inference"
    cycle.outcome.save()
    return cycle


def test_a_closed_cycle_keeps_the_stage_names_it_closed_with(personas, tried):
    assert personas.teammate.post(f"{BASE}/next/").status_code == 302
    _rename(personas, {"features": "Feature store", "inference": "Scoring"})
    assert _stage_names_told(personas) == ("Features", "Inference")
    personas.system.stages.get(slug="inference").delete()
    assert _stage_names_told(personas) == ("Features", "Inference")


def test_an_open_cycle_tells_the_stages_by_their_names_now(personas, tried):
    _rename(personas, {"features": "Feature store", "inference": "Scoring"})
    assert _stage_names_told(personas) == ("Feature store", "Scoring")


def test_a_closed_cycle_as_of_a_day_tells_the_names_as_it_closed(personas, tried):
    personas.teammate.post(f"{BASE}/next/")
    _rename(personas, {"features": "Feature store"})
    today = timezone.now().date().isoformat()
    s = personas.viewer.get(RETRO, {"as_of": today}).context["s"]
    assert s.validation_stage_name == "Features"
