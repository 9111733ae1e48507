from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import LEDGER_POLL_MS, screenshot
from tests.browser.test_stage_editor import _log_in
from tests.factories import IngestKeyFactory
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DASHBOARD_CHARTS = ("chart-flow", "chart-headroom", "chart-slos", "chart-series")


def drawn_traces(page, chart_id: str) -> int:
    """How many traces Plotly drew into the element: 0 unless the chart rendered."""
    expect(page.locator(f"#{chart_id} .main-svg").first).to_be_attached()
    return page.evaluate(
        "id => (document.getElementById(id).data || []).length", chart_id
    )


def flow_labels(page) -> str:
    return page.evaluate(
        "document.getElementById('chart-flow').layout.annotations"
        ".map(a => a.text).join('|')"
    )


def test_dashboard_charts_draw_and_follow_the_simulator(page, live_server) -> None:
    system = demo_load()
    key = IngestKeyFactory(system=system, name="browser test").plaintext
    # The page's own clock, to move it on to the ledger's next poll.
    page.clock.install()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/")

    for chart in DASHBOARD_CHARTS:
        assert drawn_traces(page, chart) > 0, chart
    # Seven stages: a utilization and a queue line each.
    assert drawn_traces(page, "chart-series") == 14
    triage = page.locator("tr", has=page.locator("th", has_text="Triage"))
    expect(triage).to_contain_text("100%")
    before = flow_labels(page)
    page.evaluate("window.__noReload = true")

    # The simulator doubles the analysts from now on, over HTTP like a pipeline.
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    call_command(
        "simulate_pipeline",
        "nad",
        "--start",
        start.isoformat(),
        "--change",
        "triage*2@0",
        url=live_server.url,
        key=key,
        duration=240,
        speed=0,
        batch=30,
    )

    # On to the ledger's next poll, rather than waiting for it.
    page.clock.fast_forward(LEDGER_POLL_MS)

    expect(triage).not_to_contain_text("100%", timeout=12_000)
    page.wait_for_function(
        "before => document.getElementById('chart-flow').layout.annotations"
        ".map(a => a.text).join('|') !== before",
        arg=before,
        timeout=5_000,
    )
    assert page.evaluate("window.__noReload") is True
    for chart in DASHBOARD_CHARTS:
        assert drawn_traces(page, chart) > 0, chart
    screenshot(page, "dashboard-charts")

    week = page.get_by_role("link", name="Week")
    week.click()
    expect(week).to_have_attribute("aria-current", "page")
    expect(page.locator("#series")).to_contain_text("highest value of its 30 min")
    assert drawn_traces(page, "chart-series") == 14
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("link", name="Timeline").click()
    assert drawn_traces(page, "chart-timeline") > 0
    expect(page.locator("table")).to_contain_text("Feature-Tier2")
    screenshot(page, "timeline")
    assert page.problems == [], "\n".join(page.problems)


def test_feature_value_chart_appears_and_grows_as_features_are_added(
    page, live_server
) -> None:
    demo_load(history=False)
    _log_in(page, live_server)
    # Cycle 2 is open; its constraint, Triage, has no features yet.
    step_url = f"{live_server.url}/systems/nad/cycles/2/problem/"
    page.goto(step_url)
    expect(page.locator("#chart-features")).to_have_count(0)
    page.evaluate("window.__noReload = true")

    # The first refresh of the chart and of the chain is held until the second
    # feature is in, so the second change arrives while they are in flight: a
    # refresh must still follow each, or they would show the older registry.
    refreshes = {"feature-value": 0, "chain": 0}
    held = []

    def hold_first_refreshes(route) -> None:
        target = route.request.headers.get("hx-target")
        if target in refreshes:
            refreshes[target] += 1
            if refreshes[target] == 1:
                held.append(route)
                return
        route.continue_()

    page.route(step_url, hold_first_refreshes)
    rows = page.locator("#rows-features")

    def add_feature(name: str, importance: str, cost: str) -> None:
        rows.get_by_label("Name").fill(name)
        rows.get_by_label("Importance").fill(importance)
        rows.get_by_label("Compute cost").fill(cost)
        rows.get_by_role("button", name="Add feature").click()
        expect(rows).to_contain_text(name)

    add_feature("dedup_key", "0.6", "2")
    # Route handlers run while the test waits on the page, so wait there until
    # both refreshes are held; their answers are read now, with one feature in.
    for _ in range(200):
        if len(held) == 2:
            break
        page.wait_for_timeout(50)
    answers = [(route, route.fetch()) for route in held]
    add_feature("geo_lookup", "0.001", "30")
    assert refreshes == {"feature-value": 1, "chain": 1}
    for route, answer in answers:
        assert b"geo_lookup" not in answer.body()
        route.fulfill(response=answer)

    page.wait_for_function(
        "() => (document.getElementById('chart-features')?.data?.[0]?.x || [])"
        ".length === 2"
    )
    assert page.evaluate("document.getElementById('chart-features').data[0].x") == [
        "dedup_key",
        "geo_lookup",
    ]
    page.wait_for_load_state("networkidle")
    expect(page.locator("#chain li.chain__step")).to_have_count(7)
    assert refreshes == {"feature-value": 2, "chain": 2}
    assert page.evaluate("window.__noReload") is True
    screenshot(page, "feature-value")
    assert page.problems == [], "\n".join(page.problems)


def test_history_opens_with_the_timeline_and_leads_to_a_retrospective(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/cycles/")
    assert drawn_traces(page, "chart-timeline") > 0
    spans = page.evaluate(
        "document.getElementById('chart-timeline').layout.annotations"
        ".map(a => [a.text, a.hovertext])"
    )
    assert ["Cycle 1", "Cycle 1: Feature-Tier2 cannot keep up"] in spans
    screenshot(page, "history")

    page.get_by_role("link", name="Retrospective").last.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Retrospective of cycle 1")
    screenshot(page, "retrospective")
    page.emulate_media(media="print")
    screenshot(page, "retrospective-print")
    assert page.problems == [], "\n".join(page.problems)
