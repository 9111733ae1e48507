"""One improvement cycle walked end to end in the browser, as the demo user.

Goal → problem → conflict → innovation → experiment → rollout → outcome, then
"Start next cycle", which asks first (here with nothing left unfinished).
Inline lists are edited with htmx (no page load); record forms are plain POSTs
that come back to the same step.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from toc.cycles.models import (
    Assumption,
    Cycle,
    CycleStatus,
    PhaseStatus,
    Verdict,
)
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Feature-Tier2 saturation"
ASSUMPTION = "All records need the same analysis depth"
WHYS = [
    (
        "Feature-Tier2 computes 47 windowed features for every record.",
        "Profiler: 82% of Tier-2 CPU goes to the windowed aggregates.",
    ),
    (
        "Nobody removes a feature once it ships.",
        "Feature registry: 31 added in two years, none retired.",
    ),
    (
        "No team owns detection latency end to end.",
        "Org chart: features, model and SOC report to three directors.",
    ),
]


def _label(text: str) -> re.Pattern:
    """A field's label, with or without the "(optional)" the template adds."""
    return re.compile(rf"^\s*{re.escape(text)}(\s*\(optional\))?\s*$")


def _record_form(page: Page, name: str) -> Locator:
    """The record form of the current step that posts under ``name``."""
    return page.locator(f'form.record-form:has(input[name="form"][value="{name}"])')


def _rows(page: Page, key: str) -> Locator:
    return page.locator(f"#rows-{key} li.row-item:not(.row-item--empty)")


def _add_form(page: Page, key: str) -> Locator:
    return page.locator(f"#rows-{key} form.row-add")


def _htmx(page: Page, target: Locator) -> None:
    """Clicks something that makes an htmx request, and waits for the answer."""
    with page.expect_response(
        lambda response: response.request.headers.get("hx-request") == "true"
    ) as answer:
        target.click()
    response = answer.value
    assert response.status == 200, f"{response.url} answered {response.status}"


def _edit_row(page: Page, key: str, row: Locator) -> Locator:
    """Opens a row's in-place editor and returns it."""
    _htmx(page, row.get_by_role("link", name=re.compile(r"^Edit\b")))
    editor = page.locator(f"#rows-{key} li.row-item--editing")
    expect(editor).to_be_visible()
    return editor


def _save_record(page: Page, name: str, button: str = "Save") -> None:
    """Posts a record form; the step comes back (200, not a 500) saying "Saved."."""
    form = _record_form(page, name)
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name=button).click()
    status = navigation.value.status
    assert status == 200, f"saving the {name} form: {page.url} answered {status}"
    expect(page.locator(".message--success")).to_contain_text("Saved.")


def _go_to_step(page: Page, label: str) -> None:
    chain = page.get_by_role("navigation", name=re.compile(r"^The chain of cycle"))
    with page.expect_navigation():
        chain.get_by_role("link", name=re.compile(rf"^{re.escape(label)}\b")).click()


def _step_state(page: Page, label: str) -> Locator:
    """The chain entry of a step (it carries chain__step--missing/draft/done)."""
    return page.locator("li.chain__step", has=page.get_by_role("link", name=label))


def test_a_cycle_walked_from_goal_to_the_next_cycle(page, live_server) -> None:
    page.set_default_timeout(10_000)
    demo_load()
    _log_in(page, live_server)
    base = f"{live_server.url}/systems/nad/cycles"

    # 1. Systems → the system → Cycles → open a cycle. The demo's cycle 2 is
    # in progress, and a system has one at a time: it is closed first, alone.
    page.get_by_role("link", name="Network anomaly detection").click()
    page.wait_for_url(f"{live_server.url}/systems/nad/")
    page.get_by_role("link", name="Cycles", exact=True).click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("button", name="Open cycle")).to_have_count(0)
    page.locator("#open-a-cycle").get_by_role("link").click()
    page.get_by_role("link", name="Start next cycle").click()
    page.get_by_role("button", name="Close it without opening another").click()
    page.get_by_role("link", name="Cycles", exact=True).click()
    page.wait_for_url(f"{base}/")
    page.get_by_label(_label("Title")).fill(TITLE)
    page.get_by_role("button", name="Open cycle").click()
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/(\d+)/$"))
    number = int(page.url.rstrip("/").rsplit("/", 1)[1])
    cycle_url = f"{base}/{number}"
    expect(page.get_by_role("heading", level=2, name=re.compile(TITLE))).to_be_visible()

    # 2. Goal: the system's SLO page, reached from the goal step, where an SLO
    # is edited in place; then the constraint, the validation experiment.
    _go_to_step(page, "Goal & constraint")
    assert page.url == f"{cycle_url}/goal/"
    with page.expect_navigation():
        page.get_by_role("link", name="Set targets and measured values").click()
    assert page.url == f"{live_server.url}/systems/nad/slos/"
    page.evaluate("window.__noReload = true")
    slo = page.locator("#slos tr", has_text="Time to decision (p95)")
    _htmx(page, slo.get_by_role("link", name="Edit Time to decision (p95)"))
    editor = page.locator("#slos tr.row-editing")
    editor.get_by_label(_label("Target")).fill("5")
    editor.get_by_label(_label("Measured")).fill("47")
    editor.get_by_label(_label("Unit")).fill("min")
    _htmx(page, editor.get_by_role("button", name="Save"))
    expect(editor).to_have_count(0)
    expect(slo.get_by_role("cell").nth(0)).to_have_text(re.compile(r"≤ 5(\.0)? min"))
    expect(slo.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^47(\.0)? min"))
    expect(slo.locator(".state")).to_have_text("violated")
    assert page.evaluate("window.__noReload") is True

    # Back on the goal step: as the cycle opened (the demo's 3.2 min), and now.
    with page.expect_navigation():
        page.get_by_role("link", name=f"cycle {number}", exact=True).click()
    assert page.url == f"{cycle_url}/goal/"
    goal = page.get_by_role("region", name="Goal: service level objectives")
    cells = goal.get_by_role("row", name=re.compile(r"^Time to decision")).get_by_role(
        "cell"
    )
    expect(cells.nth(1)).to_have_text(re.compile(r"^3\.2 min"))
    expect(cells.nth(2)).to_have_text(re.compile(r"^47(\.0)? min"))
    expect(cells.nth(3)).to_have_text("violated")

    # The live ledger names the demo's analysts; this walk goes back to Tier-2.
    constraint = _record_form(page, "constraint")
    expect(constraint.get_by_label(_label("Stage"))).to_have_value("triage")
    constraint.get_by_label(_label("Stage")).select_option(label="Feature-Tier2")
    _save_record(page, "constraint")
    expect(
        _record_form(page, "constraint").locator("select option:checked")
    ).to_have_text("Feature-Tier2")

    now = timezone.now()
    validation = _record_form(page, "validation")
    validation.get_by_label(_label("Stage")).select_option(label="Feature-Tier2")
    validation.get_by_label(_label("Capacity multiplied by")).fill("3")
    started = (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    ended = (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    validation.get_by_label(_label("Started")).fill(started)
    validation.get_by_label(_label("Ended")).fill(ended)
    validation.get_by_label(_label("Notes")).fill(
        "Tripled Tier-2 workers for half an hour."
    )
    _save_record(page, "validation")
    expect(
        _record_form(page, "validation").get_by_label(_label("Stage"))
    ).to_have_value("feature-tier2")
    expect(page.locator("table.compare")).to_contain_text("Feature-Tier2")
    expect(_step_state(page, "Goal & constraint")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    screenshot(page, "cycle-1-goal")

    # 3. Problem: three validated whys (htmx), then the problem itself.
    _go_to_step(page, "Problem")
    page.evaluate("window.__noReload = true")
    for count, (answer, evidence) in enumerate(WHYS, start=1):
        form = _add_form(page, "whys")
        form.get_by_label(_label("Because…")).fill(answer)
        form.get_by_label(_label("Evidence")).fill(evidence)
        form.get_by_label(_label("Validated by the evidence")).check()
        _htmx(page, form.get_by_role("button", name="Add why"))
        expect(_rows(page, "whys")).to_have_count(count)
        expect(_rows(page, "whys").nth(count - 1)).to_contain_text(answer)
        expect(_rows(page, "whys").nth(count - 1)).to_contain_text("validated")
    assert page.evaluate("window.__noReload") is True
    expect(_rows(page, "whys").locator(".state--clear")).to_have_count(3)

    problem = _record_form(page, "problem")
    problem.get_by_label(_label("Statement")).fill(
        "Tier 2 spends the same effort on every record, so p95 detection "
        "takes 47 minutes against a 5-minute goal."
    )
    problem.get_by_label(_label("Root cause")).select_option(label="Organizational")
    problem.get_by_label(_label("Share of the gap it explains (0–100 %)")).fill("70")
    _save_record(page, "problem")
    page.reload()
    expect(_step_state(page, "Problem")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    expect(page.locator(".todo-box")).to_have_count(0)
    screenshot(page, "cycle-2-problem")

    # 4. Conflict: the cloud, one challenged assumption, the one to break.
    _go_to_step(page, "Conflict")
    conflict = _record_form(page, "conflict")
    conflict.get_by_label(_label("A · Common objective")).fill(
        "Catch every real incident in time"
    )
    conflict.get_by_label(_label("B · Need")).fill("Miss no subtle attack")
    conflict.get_by_label(_label("D · Action that serves B")).fill(
        "Analyse every record in depth"
    )
    conflict.get_by_label(_label("C · Need")).fill("Decide within 5 minutes")
    conflict.get_by_label(_label("D′ · Action that serves C")).fill(
        "Analyse records only lightly"
    )
    _save_record(page, "conflict")

    form = _add_form(page, "assumptions")
    form.get_by_label(_label("Props up")).select_option(label="Need B ← action D")
    form.get_by_label(_label("We assume that…")).fill(ASSUMPTION)
    # Added in place; the conflict form's choice re-reads its options.
    _htmx(page, form.get_by_role("button", name="Add assumption"))
    expect(_rows(page, "assumptions")).to_have_count(1)
    assumption = _rows(page, "assumptions").first
    expect(assumption).to_contain_text("not challenged yet")

    editor = _edit_row(page, "assumptions", assumption)
    editor.get_by_label(_label("Verdict")).select_option(label="Does not hold")
    editor.get_by_label(_label("Reasoning")).fill(
        "97% of records are benign at Tier 1 with high confidence."
    )
    _htmx(page, editor.get_by_role("button", name="Save"))
    expect(assumption.locator(".state")).to_have_text("Does not hold")
    expect(assumption).to_contain_text("Need B ← action D:")

    conflict = _record_form(page, "conflict")
    broken = conflict.get_by_label(_label("Assumption the team chose to break"))
    expect(broken.locator("option", has_text=ASSUMPTION)).to_have_count(1)
    broken.select_option(label=ASSUMPTION)
    conflict.get_by_label(_label("How the team has been oscillating")).select_option(
        label="Stuck (exaggerated fears of change)"
    )
    conflict.get_by_label(_label("Oscillation note")).fill(
        "Every proposal to skip analysis was vetoed for fear of a missed attack."
    )
    _save_record(page, "conflict")
    expect(_step_state(page, "Conflict")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    expect(page.locator(".cloud__a")).to_contain_text("Catch every real incident")
    screenshot(page, "cycle-3-conflict")

    # 5. Innovation: patterns, the pros kept, the organizational change, a tier.
    _go_to_step(page, "Innovation")
    innovation = _record_form(page, "innovation")
    innovation.get_by_label(_label("Summary")).fill(
        "Cheap checks first; only uncertain records go deeper."
    )
    innovation.get_by_label(_label("Cascade filtering")).check()
    innovation.get_by_label(_label("Confidence routing")).check()
    innovation.get_by_label(_label("Pros kept from side B")).fill(
        "Suspicious records still get the full analysis."
    )
    innovation.get_by_label(_label("Pros kept from side C")).fill(
        "Most records are decided in milliseconds."
    )
    innovation.get_by_label(_label("Organizational change")).fill(
        "One owner for detection latency end to end; features retire by default."
    )
    _save_record(page, "innovation")
    innovation = _record_form(page, "innovation")
    expect(innovation.get_by_label(_label("Cascade filtering"))).to_be_checked()
    expect(innovation.get_by_label(_label("Confidence routing"))).to_be_checked()
    expect(innovation.get_by_label(_label("Async enrichment"))).not_to_be_checked()

    page.evaluate("window.__noReload = true")
    form = _add_form(page, "tiers")
    form.get_by_label(_label("Name")).fill("Tier 1 screen")
    form.get_by_label(_label("Features")).fill("ports, rates")
    form.get_by_label(_label("Model")).fill("logistic regression")
    form.get_by_label(_label("Share of traffic seen (0–1)")).fill("1")
    form.get_by_label(_label("Share that exits here (0–1)")).fill("0.97")
    form.get_by_label(_label("Latency (ms)")).fill("2")
    _htmx(page, form.get_by_role("button", name="Add tier"))
    expect(_rows(page, "tiers")).to_have_count(1)
    expect(_rows(page, "tiers").first).to_contain_text("Tier 1 screen")
    assert page.evaluate("window.__noReload") is True
    page.reload()
    expect(_step_state(page, "Innovation")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    screenshot(page, "cycle-4-innovation")

    # 6. Experiment: the MVE, one criterion that passed, the decision.
    _go_to_step(page, "Experiment")
    experiment = _record_form(page, "experiment")
    experiment.get_by_label(_label("Riskiest assumption")).fill(
        "Tier 1 lets no real attack exit early."
    )
    experiment.get_by_label(_label("Hypothesis")).fill(
        "Replaying last month's labelled incidents, the cascade misses none."
    )
    experiment.get_by_label(_label("Results")).fill("All 212 incidents reached Tier 3.")
    experiment.get_by_label(_label("Learnings")).fill(
        "Port scans exit at Tier 1 safely."
    )
    _save_record(page, "experiment")

    page.evaluate("window.__noReload = true")
    form = _add_form(page, "criteria")
    form.get_by_label(_label("Metric")).fill("False negative rate")
    form.get_by_label(_label("Comparator")).select_option(label="=")
    form.get_by_label(_label("Threshold")).fill("0")
    form.get_by_label(_label("Result")).fill("0")
    _htmx(page, form.get_by_role("button", name="Add criterion"))
    expect(_rows(page, "criteria")).to_have_count(1)
    criterion = _rows(page, "criteria").first
    expect(criterion).to_contain_text("False negative rate")
    expect(criterion.locator(".state")).to_have_text("passed")
    assert page.evaluate("window.__noReload") is True

    decision = _record_form(page, "decision")
    decision.get_by_label(_label("Go")).check()
    decision.get_by_label(_label("Reason")).fill("Every criterion passed.")
    _save_record(page, "decision", button="Record decision")
    expect(page.get_by_role("region", name="Decision")).to_contain_text(
        "Decided Go by demo"
    )
    expect(page.locator("#criteria-title .state")).to_have_text("passed")
    expect(_step_state(page, "Experiment")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    screenshot(page, "cycle-5-experiment")

    # 7. Rollout: every phase passed, each edited in place.
    _go_to_step(page, "Rollout")
    page.evaluate("window.__noReload = true")
    phases = _rows(page, "phases")
    expect(phases).to_have_count(6)
    for index in range(6):
        editor = _edit_row(page, "phases", phases.nth(index))
        editor.get_by_label(_label("Status")).select_option(label="Passed")
        _htmx(page, editor.get_by_role("button", name="Save"))
        expect(page.locator("#rows-phases li.row-item--editing")).to_have_count(0)
        expect(phases.nth(index).locator(".state")).to_have_text("Passed")
    assert page.evaluate("window.__noReload") is True
    page.reload()
    expect(_step_state(page, "Rollout")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    screenshot(page, "cycle-6-rollout")

    # 8. Outcome: before/after, where the constraint went, the next cycle.
    _go_to_step(page, "Outcome")
    page.evaluate("window.__noReload = true")
    outcome_rows = [
        ("Detection time (p95)", "47", "3.2", "min"),
        ("Daily analyst alerts", "847", "11", ""),
    ]
    for count, (metric, before, after, unit) in enumerate(outcome_rows, start=1):
        form = _add_form(page, "outcome-rows")
        form.get_by_label(_label("Metric")).fill(metric)
        form.get_by_label(_label("Before")).fill(before)
        form.get_by_label(_label("After")).fill(after)
        form.get_by_label(_label("Unit")).fill(unit)
        expect(form.get_by_label(_label("Lower is better"))).to_be_checked()
        _htmx(page, form.get_by_role("button", name="Add row"))
        expect(_rows(page, "outcome-rows")).to_have_count(count)
    assert page.evaluate("window.__noReload") is True
    rows = _rows(page, "outcome-rows")
    expect(rows.nth(0)).to_contain_text("47 → 3.2 min")
    expect(rows.nth(0).locator(".change")).to_have_text("15× faster")
    expect(rows.nth(1).locator(".change")).to_have_text("\N{MINUS SIGN}98.7%")
    expect(rows.locator(".change--better")).to_have_count(2)

    outcome = _record_form(page, "outcome")
    outcome.get_by_label(_label("Where the constraint went")).select_option(
        label="Inference"
    )
    outcome.get_by_label(_label("Notes")).fill(
        "Tier 2 idles at 30%; Inference is next."
    )
    _save_record(page, "outcome")
    expect(_step_state(page, "Outcome")).to_have_class(
        re.compile(r"\bchain__step--done\b")
    )
    expect(page.locator(".chain__step--done")).to_have_count(7)
    screenshot(page, "cycle-7-outcome")

    page.get_by_role("link", name="Start next cycle").click()
    page.wait_for_url(f"{cycle_url}/next/")
    expect(page.get_by_role("status").filter(has_text="Every step")).to_have_text(
        "Every step of the chain is done: nothing is left unfinished."
    )
    with page.expect_navigation():
        page.get_by_role(
            "button", name=f"Close cycle {number} and open the next"
        ).click()
    assert page.url == f"{base}/{number + 1}/"
    expect(page.locator(".message--success")).to_contain_text(
        f"Closed cycle {number} and opened cycle {number + 1}."
    )
    # The next cycle opens where the team said the constraint went.
    _go_to_step(page, "Goal & constraint")
    expect(
        _record_form(page, "constraint").get_by_label(_label("Stage"))
    ).to_have_value("inference")

    page.goto(f"{cycle_url}/")
    expect(page.locator(".cycle-head .badge")).to_have_text("Closed")
    screenshot(page, "cycle-overview")

    # What the walk-through left in the database.
    cycle = Cycle.objects.get(system__slug="nad", number=number)
    assert cycle.status == CycleStatus.CLOSED
    assert cycle.closed_at is not None
    whys = list(cycle.problem.whys.all())
    assert [why.answer for why in whys] == [answer for answer, _ in WHYS]
    assert all(why.validated and why.evidence for why in whys)
    assert cycle.problem.root_cause == "organizational"
    assert cycle.problem.gap_share == pytest.approx(0.7)
    chosen = Assumption.objects.get(conflict=cycle.conflict)
    assert chosen.text == ASSUMPTION
    assert chosen.arrow == "b_d"
    assert chosen.verdict == Verdict.DOES_NOT_HOLD
    assert cycle.conflict.broken_assumption == chosen
    assert cycle.conflict.oscillation == "stuck"
    assert sorted(cycle.innovation.patterns) == ["cascade", "confidence_routing"]
    assert cycle.innovation.tiers.count() == 1
    assert cycle.experiment.decision == "go"
    assert cycle.experiment.decided_by.username == "demo"
    phases = list(cycle.rollout.phases.all())
    assert len(phases) == 6
    assert {phase.status for phase in phases} == {PhaseStatus.PASSED}
    assert cycle.outcome.rows.count() == 2
    assert cycle.outcome.next_constraint == "inference"
    assert cycle.validation.stage == "feature-tier2"
    assert cycle.validation.capacity_factor == 3
    following = Cycle.objects.get(system__slug="nad", number=number + 1)
    assert following.status == CycleStatus.OPEN
    assert following.constraint.stage == "inference"

    assert page.problems == [], "\n".join(page.problems)
