"""The demo as a new user meets it: the system page, the timeline and the cycles
tell one story, and each names the same stage as the constraint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from toc.demo.loader import demo_load, story_start
from toc.demo.simulation import STORY_ROLLOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_names_one_constraint_on_every_page(page, live_server) -> None:
    demo_load()
    _log_in(page, live_server)
    base = f"{live_server.url}/systems/nad"

    page.goto(f"{base}/")
    verdict = page.locator(".verdict")
    expect(verdict.locator(".verdict__label")).to_have_text("Constraint now")
    expect(verdict.locator(".verdict__stage")).to_contain_text("Triage")
    expect(verdict.locator(".verdict__since")).to_contain_text("Held since")
    expect(page.locator("tr.row--constraint th")).to_contain_text("Triage")
    triage = page.locator("tr", has=page.locator("th", has_text="Triage"))
    expect(triage).to_contain_text("/h")
    expect(page.locator(".events li").first).to_contain_text("Feature-Tier2 → Triage")
    screenshot(page, "demo-dashboard")
    page.get_by_role("link", name="Month").click()
    expect(page.locator("#series .tabs [aria-current=page]")).to_have_text("Month")
    expect(page.locator("#chart-series .main-svg").first).to_be_visible()
    screenshot(page, "demo-dashboard-month")

    page.goto(f"{base}/timeline/")
    expect(page.locator(".standing")).to_contain_text(
        "Now: Triage holds the constraint since"
    )
    first_move = page.locator("table tbody tr").first
    expect(first_move).to_contain_text("Feature-Tier2")
    expect(first_move.locator("td").nth(2)).to_have_text("Triage")
    expect(page.locator("#chart-timeline .main-svg").first).to_be_visible()
    screenshot(page, "demo-timeline")

    page.goto(f"{base}/cycles/")
    expect(page.get_by_role("link", name="Cycle 1", exact=False).first).to_be_visible()
    screenshot(page, "demo-cycles")

    # Cycle 2 works on Triage, where the ledger has the constraint: no warning.
    page.goto(f"{base}/cycles/2/")
    expect(page.locator(".cycle-head h2")).to_contain_text("Cycle 2")
    expect(page.locator(".cycle-head .message--warning")).to_have_count(0)
    screenshot(page, "demo-cycle-2")

    # Cycle 1 as it stood in the middle of its rollout.
    day = (story_start(timezone.now()) + timedelta(days=STORY_ROLLOUT[2][1] + 1)).date()
    page.goto(f"{base}/cycles/1/retrospective/?as_of={day.isoformat()}")
    expect(page.locator("main")).to_contain_text(f"As it stood on {day.isoformat()}")
    expect(page.locator("main")).to_contain_text("it is the constraint")
    screenshot(page, "demo-cycle-1-mid-rollout")
    assert page.problems == [], "\n".join(page.problems)
