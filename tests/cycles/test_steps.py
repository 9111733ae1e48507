from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.cycles.conftest import BASE, ROSE
from toc.cycles.chain import DONE, chain
from toc.cycles.models import (
    Criterion,
    Cycle,
    CycleStatus,
    OutcomeRow,
    ValidationExperiment,
    Why,
)

HTMX = {"HX-Request": "true"}

STEPS = [
    "goal",
    "problem",
    "conflict",
    "innovation",
    "experiment",
    "rollout",
    "outcome",
]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_page_renders_for_a_viewer(personas, cycle, step) -> None:
    response = personas.viewer.get(f"{BASE}/{step}/")
    assert response.status_code == 200
    assert b'aria-current="step"' in response.content
    assert b"Add a" not in response.content  # viewers get no edit controls


def test_unknown_step_is_404(personas, cycle) -> None:
    assert personas.viewer.get(f"{BASE}/nonsense/").status_code == 404


def test_problem_form_saves_the_gap_as_a_share(personas, cycle) -> None:
    response = personas.teammate.post(
        f"{BASE}/problem/",
        {
            "form": "problem",
            "problem-statement": "Tier 2 computes too much",
            "problem-root_cause": "organizational",
            "problem-gap_percent": "70",
        },
    )
    assert response.status_code == 302
    cycle.problem.refresh_from_db()
    assert cycle.problem.gap_share == pytest.approx(0.7)


def test_invalid_record_form_keeps_what_was_typed(personas, cycle) -> None:
    response = personas.teammate.post(
        f"{BASE}/problem/",
        {
            "form": "problem",
            "problem-statement": "typed statement",
            "problem-gap_percent": "170",
        },
    )
    assert response.status_code == 200
    assert "gap_percent" in response.context["forms"]["problem"].errors
    assert b"typed statement" in response.content
    cycle.problem.refresh_from_db()
    assert cycle.problem.statement == ""


def test_viewer_cannot_post_record_forms(personas, cycle) -> None:
    response = personas.viewer.post(
        f"{BASE}/problem/", {"form": "problem", "problem-statement": "x"}
    )
    assert response.status_code == 403


def test_outsider_cannot_post_record_forms(personas, cycle) -> None:
    response = personas.outsider.post(
        f"{BASE}/problem/", {"form": "problem", "problem-statement": "x"}
    )
    assert response.status_code == 404


def test_problem_page_warns_about_the_chain(personas, cycle) -> None:
    Why.objects.create(problem=cycle.problem, position=0, answer="Slow", evidence="")
    content = personas.viewer.get(f"{BASE}/problem/").content.decode()
    assert "Why 1:" in content
    assert "less than half" in content or "not estimated" in content


def _criterion(cycle, result: float) -> None:
    Criterion.objects.create(
        experiment=cycle.experiment,
        metric="False negative rate",
        comparator="==",
        threshold=0,
        result=result,
    )


def test_go_against_failing_criteria_needs_a_reason(personas, cycle) -> None:
    _criterion(cycle, 0.02)
    response = personas.teammate.post(
        f"{BASE}/experiment/", {"form": "decision", "decision-decision": "go"}
    )
    assert response.status_code == 200
    assert "decision_reason" in response.context["forms"]["decision"].errors
    cycle.experiment.refresh_from_db()
    assert cycle.experiment.decision == ""

    personas.teammate.post(
        f"{BASE}/experiment/",
        {
            "form": "decision",
            "decision-decision": "go",
            "decision-decision_reason": "The threshold was set too strictly.",
        },
    )
    cycle.experiment.refresh_from_db()
    assert cycle.experiment.decision == "go"
    assert cycle.experiment.decided_by.memberships.get().role == "editor"
    assert cycle.experiment.decided_at is not None


def test_go_on_passing_criteria_needs_no_reason(personas, cycle) -> None:
    _criterion(cycle, 0)
    personas.teammate.post(
        f"{BASE}/experiment/", {"form": "decision", "decision-decision": "go"}
    )
    cycle.experiment.refresh_from_db()
    assert cycle.experiment.decision == "go"


def test_outcome_rows_read_as_the_team_would(personas, cycle) -> None:
    OutcomeRow.objects.create(
        outcome=cycle.outcome,
        metric="Detection time (p95)",
        before=47,
        after=3.2,
        unit="min",
    )
    OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="Daily analyst alerts", before=847, after=11
    )
    content = personas.viewer.get(f"{BASE}/outcome/").content.decode()
    assert "15× faster" in content
    assert "−98.7%" in content


def test_unknown_form_name_is_400(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/problem/", {"form": "other"})
    assert response.status_code == 400


def test_start_next_cycle_closes_this_one(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/next/")
    assert response["Location"] == "/systems/fraud/cycles/2/"
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED
    assert Cycle.objects.get(number=2).status == CycleStatus.OPEN


def test_viewer_cannot_start_the_next_cycle(personas, cycle) -> None:
    assert personas.viewer.post(f"{BASE}/next/").status_code == 403
    assert Cycle.objects.count() == 1


def test_a_complete_problem_is_done(cycle) -> None:
    for n in range(3):
        Why.objects.create(
            problem=cycle.problem,
            position=n,
            answer=f"w{n}",
            evidence="e",
            validated=True,
        )
    cycle.problem.root_cause = "organizational"
    cycle.problem.gap_share = 0.8
    cycle.problem.save()
    cycle = Cycle.objects.get(pk=cycle.pk)
    problem = next(step for step in chain(cycle) if step.key == "problem")
    assert problem.state == DONE
    assert problem.todo == []


def test_slo_measured_from_metrics_follows_the_ledger(post_samples, personas, cycle):
    from datetime import timedelta

    from django.utils import timezone

    from tests.metrics.samples import steady_pipeline

    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    post_samples(steady_pipeline(["ingest", "features", "inference"], start, 10, {}))
    slo = cycle.system.slos.get(dimension="time_to_decision")
    slo.measured_from = "last_stage_p95"
    slo.unit = "ms"
    slo.target = 10
    slo.save()
    content = personas.viewer.get(f"{BASE}/goal/").content.decode()
    row = content[content.index("Time to decision (p95)</th>") :]
    row = row[: row.index("</tr>")]
    # When the cycle opened it had no target and nothing measured; now the
    # last stage's p95 is read off the ledger.
    assert "not measured" in row
    assert "12.5 ms" in row and "(live)" in row
    assert "violated" in row


def test_decision_budget_helper_applies_littles_law(personas, cycle) -> None:
    response = personas.viewer.get(
        f"{BASE}/goal/?alerts_per_day=50&minutes_per_investigation=45&analysts=4"
        "&hours_per_analyst=8"
    )
    budget = response.context["budget"]
    assert budget.sustainable_alerts_per_day == pytest.approx(4 * 8 * 60 / 45)
    assert budget.holds is False
    assert b"The budget does not hold" in response.content


def test_decision_budget_with_nobody_says_so_rather_than_an_infinite_share(
    personas, cycle
) -> None:
    response = personas.viewer.get(
        f"{BASE}/goal/?alerts_per_day=48&minutes_per_investigation=20&analysts=0"
        "&hours_per_analyst=8"
    )
    content = response.content.decode()
    assert "48 a day would keep 2.0 people busy on average, with nobody" in content
    assert "inf%" not in content
    assert "The budget does not hold" in content


def test_cascade_calculator_uses_the_tiers(personas, cycle) -> None:
    from toc.cycles.models import Tier

    for n, (exits, latency) in enumerate([(0.68, 3), (0.875, 15), (1.0, 100)]):
        Tier.objects.create(
            innovation=cycle.innovation,
            position=n,
            name=f"T{n}",
            traffic_share=1,
            exit_share=exits,
            latency_ms=latency,
        )
    response = personas.viewer.get(
        f"{BASE}/innovation/?input_rate=100000&target_utilization=0.5"
    )
    loads = [tier.load for tier in response.context["plan"].tiers]
    assert loads == pytest.approx([100_000, 32_000, 4_000])
    assert response.context["plan"].tiers[0].required_capacity == pytest.approx(200_000)


def test_validation_must_end_after_it_starts(personas, cycle) -> None:
    response = personas.teammate.post(
        f"{BASE}/goal/",
        {
            "form": "validation",
            "validation-stage": "features",
            "validation-capacity_factor": "3",
            "validation-started": "2026-11-02T10:00",
            "validation-ended": "2026-11-01T10:00",
        },
    )
    assert "ended" in response.context["forms"]["validation"].errors
    from toc.cycles.models import ValidationExperiment

    assert not ValidationExperiment.objects.exists()


def test_validation_figures_compare_before_and_during(post_samples, personas, cycle):
    from datetime import timedelta

    from django.utils import timezone

    from tests.metrics.samples import steady_pipeline

    stages = ["ingest", "features", "inference"]
    start = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    before = steady_pipeline(stages, start, 10, {"features": 0.95}, growing="features")
    during = steady_pipeline(
        stages, start + timedelta(minutes=10), 10, {"features": 0.4}
    )
    post_samples(before + during)
    response = personas.teammate.post(
        f"{BASE}/goal/",
        {
            "form": "validation",
            "validation-stage": "features",
            "validation-capacity_factor": "2.5",
            "validation-started": (start + timedelta(minutes=10)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "validation-ended": (start + timedelta(minutes=20)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
    )
    assert response.status_code == 302
    figures = personas.viewer.get(f"{BASE}/goal/").context["validation_figures"]
    utilization = figures["stage"].changes[2]
    assert utilization.before == pytest.approx(0.95)
    assert utilization.during == pytest.approx(0.4)
    assert utilization.improved is True
    # The plan said 2.5×, but the metrics show Features' capacity unchanged.
    assert figures["verdict"].result == "inconclusive"
    assert "reported capacity did not rise" in figures["verdict"].sentence


def test_the_goal_page_gives_the_validation_verdict_above_its_figures(
    personas, validation_run
) -> None:
    validation_run(1_300.0)

    content = personas.viewer.get(f"{BASE}/goal/").content.decode()

    assert ROSE in content
    assert content.index(ROSE) < content.index("Before and during, from the ingested")


def test_a_suspect_that_does_not_raise_system_throughput_is_cleared(
    personas, validation_run
) -> None:
    validation_run(960.0)

    response = personas.viewer.get(f"{BASE}/goal/")
    figures = response.context["validation_figures"]

    assert figures["verdict"].result == "not_constraint"
    assert figures["verdict"].sentence == (
        "System throughput did not rise (+1.05%, 950 → 960 records/s) while Features "
        "had more capacity: Features is not the constraint."
    )
    # A rise within the noise is not painted as a success.
    content = response.content.decode()
    row = content[content.index("System throughput (Inference)") :]
    row = row[: row.index("</tr>")]
    assert '<span class="change ">+1.05%</span>' in row


def test_without_metrics_the_verdict_says_which_are_missing(personas, cycle) -> None:
    now = timezone.now()
    ValidationExperiment.objects.create(
        cycle=cycle,
        stage="features",
        capacity_factor=3,
        started=now - timedelta(days=2),
        ended=now - timedelta(days=1),
    )

    content = personas.viewer.get(f"{BASE}/goal/").content.decode()

    assert (
        "No metrics of Inference, the last stage, were ingested before or during the "
        "experiment, so there is no system throughput to compare."
    ) in content
    # Said once: the suspect's own missing figures add nothing to that.
    assert "No metrics of Features" not in content


def test_a_closed_cycle_is_read_only(personas, cycle) -> None:
    personas.teammate.post(f"{BASE}/next/")
    page = personas.teammate.get(f"{BASE}/problem/")
    assert b"Add a why" not in page.content
    response = personas.teammate.post(
        f"{BASE}/whys/add/", {"new-whys-answer": "late addition"}
    )
    assert response.status_code == 403
    assert not Why.objects.exists()


def _findings(client) -> str:
    """What the problem page's findings box holds, as the htmx refresh reads it."""
    content = client.get(f"{BASE}/problem/", headers=HTMX).content.decode()
    box = re.search(r'<div id="findings"[^>]*>(.*?)</div>', content, re.S)
    assert box is not None
    return box.group(1)


def test_the_findings_box_answers_the_chain_as_it_now_stands(personas, cycle) -> None:
    # The box re-reads this GET when rows.py sends cycle-changed, so each
    # answer must follow the last change to a why.
    teammate = personas.teammate
    assert "Why 1:" not in _findings(teammate)
    assert "Fewer than 3 whys" in _findings(teammate)

    teammate.post(f"{BASE}/whys/add/", {"new-whys-answer": "Slow"}, headers=HTMX)
    assert "Why 1: No evidence is recorded" in _findings(teammate)

    why = cycle.problem.whys.get()
    teammate.post(
        f"{BASE}/whys/{why.pk}/edit/",
        {f"edit-whys-{why.pk}-answer": "Slow", f"edit-whys-{why.pk}-evidence": "logs"},
        headers=HTMX,
    )
    shown = _findings(teammate)
    assert "No evidence is recorded" not in shown
    assert "Why 1: This answer has not been checked yet" in shown

    teammate.post(f"{BASE}/whys/{why.pk}/delete/", headers=HTMX)
    assert "Why 1:" not in _findings(teammate)


def test_the_outcome_takes_a_live_slos_compliance_as_a_row(personas) -> None:
    from django.utils import timezone

    from toc.cycles.models import OutcomeRow
    from toc.cycles.services import cycle_open
    from toc.metrics.models import SloBudget
    from toc.systems.models import Slo

    slo = Slo.objects.get(system__slug="fraud", name="Time to decision (p95)")
    slo.indicator, slo.stage, slo.field = "threshold", "inference", "latency_p95_ms"
    slo.comparator, slo.threshold, slo.objective = "<=", 300, 0.99
    slo.save()
    now = timezone.now()
    figures = SloBudget.objects.create(
        slo=slo,
        computed_at=now,
        window_start=now,
        window_end=now,
        good=950,
        total=1000,
        compliance=0.95,
        budget_remaining=-4,
    )
    cycle = cycle_open(system=personas.system, title="Faster decisions")
    assert cycle.slos_opened[0]["compliance"] == 0.95
    figures.compliance = 0.995
    figures.save()

    page = personas.teammate.get(f"{BASE}/outcome/").content.decode()
    assert "Time to decision (p95): 95% → 99.5%" in page
    assert 'name="new-outcome-rows-before" value="95"' in page
    assert 'name="new-outcome-rows-after" value="99.5"' in page
    response = personas.teammate.post(
        f"{BASE}/outcome-rows/add/",
        {
            "new-outcome-rows-metric": "Time to decision (p95) (compliance)",
            "new-outcome-rows-before": "95",
            "new-outcome-rows-after": "99.5",
            "new-outcome-rows-unit": "%",
        },
    )
    assert response.status_code == 302
    row = OutcomeRow.objects.get(outcome=cycle.outcome)
    assert (row.before, row.after, row.unit, row.lower_is_better) == (
        95,
        99.5,
        "%",
        False,
    )
    # An SLO that is not live has no compliance to offer.
    assert "Data loss:" not in page
