from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import LEDGER_POLL_MS, screenshot
from tests.browser.test_stage_editor import _log_in
from tests.factories import IngestKeyFactory
from tests.metrics.samples import sample
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_shows_the_constraint_and_refreshes_itself(page, live_server) -> None:
    system = demo_load()
    key = IngestKeyFactory(system=system, name="browser test").plaintext
    # The page's own clock, to move it on to the ledger's next poll.
    page.clock.install()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/")

    # The demo's story leaves the analysts as the constraint.
    constraint_row = page.locator("tr.row--constraint")
    expect(constraint_row.locator("th")).to_contain_text("Triage")
    expect(page.locator(".verdict__reason")).to_contain_text("Triage runs at")
    screenshot(page, "dashboard")
    page.evaluate("window.__noReload = true")

    # Alerting suddenly reports a large, fast-growing queue at full load.
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    burst = [
        sample(
            "alerting",
            start + timedelta(seconds=10 * i),
            capacity=1000.0,
            throughput=1000.0,
            utilization=1.0,
            queue_depth=500_000 + 10_000 * i,
            failure_mode="dedup thrash",
        )
        for i in range(3)
    ]
    response = Client().post(
        "/api/v1/systems/nad/samples/",
        json.dumps({"samples": burst}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 202

    # On to the ledger's next poll, rather than waiting for it.
    page.clock.fast_forward(LEDGER_POLL_MS)
    alerting_row = page.locator("tr", has=page.locator("th", has_text="Alerting"))
    expect(alerting_row).to_contain_text("520,000", timeout=12_000)
    assert page.evaluate("window.__noReload") is True

    page.get_by_label("Stage", exact=True).select_option("Feature-Tier2")
    page.get_by_label("Factor").fill("3")
    page.get_by_role("button", name="Recompute").click()
    expect(page.locator("#what-if-result")).to_contain_text("Ceiling")
    screenshot(page, "dashboard-what-if")
    assert page.problems == [], "\n".join(page.problems)


def test_empty_dashboard_explains_how_to_send_metrics(page, live_server) -> None:
    demo_load(history=False)
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/")
    expect(page.get_by_role("heading", name="No metrics yet")).to_be_visible()
    expect(page.locator("pre.code")).to_contain_text("curl -X POST")
    screenshot(page, "dashboard-empty")

    page.get_by_role("link", name="Create an ingest key").click()
    page.get_by_label("Name").fill("prod pipeline")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-secret")).to_contain_text("tocik_")
    screenshot(page, "ingest-keys")
    assert page.problems == [], "\n".join(page.problems)
