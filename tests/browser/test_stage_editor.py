from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_ORDER = [
    "Ingest",
    "Feature-Tier1",
    "Feature-Tier2",
    "Feature-Tier3",
    "Inference",
    "Alerting",
    "Triage",
]


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/systems/")


def _stage_names(page) -> list[str]:
    return page.locator("#stages .stage__name").all_inner_texts()


def test_demo_user_edits_stages_in_place(page, live_server) -> None:
    demo_load(history=False)
    _log_in(page, live_server)
    assert page.get_by_role("link", name="Network anomaly detection").is_visible()
    screenshot(page, "system-list")

    page.get_by_role("link", name="Network anomaly detection").click()
    page.get_by_role("link", name="Stages", exact=True).click()
    page.wait_for_url(f"{live_server.url}/systems/nad/stages/")
    assert _stage_names(page) == DEMO_ORDER
    screenshot(page, "stage-editor")
    # Survives only if no full page load happens during the edits below.
    page.evaluate("window.__noReload = true")

    page.get_by_label("Name").fill("Enrichment")
    page.get_by_label("Unit").fill("records/s")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages .stage")).to_have_count(8)
    assert _stage_names(page)[-1] == "Enrichment"

    page.get_by_role("button", name="Move Enrichment up").click()
    expect(page.locator("#stages .stage__name").last).to_have_text("Triage")
    assert _stage_names(page)[-2:] == ["Enrichment", "Triage"]

    page.get_by_role("link", name="Edit Enrichment").click()
    row = page.locator("li.stage--editing")
    row.get_by_label("Name").fill("Async enrichment")
    screenshot(page, "stage-editor-editing")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#stages .stage__name").nth(6)).to_have_text("Async enrichment")
    assert "Async enrichment" in _stage_names(page)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Delete Async enrichment").click()
    expect(page.locator("#stages .stage")).to_have_count(7)
    assert _stage_names(page) == DEMO_ORDER

    assert page.evaluate("window.__noReload") is True
    assert page.problems == [], "\n".join(page.problems)


def test_invalid_stage_shows_the_error_next_to_the_field(page, live_server) -> None:
    demo_load(history=False)
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/stages/")
    page.get_by_label("Name").fill("Ingest again")
    page.get_by_label("Slug").fill("ingest")
    page.get_by_role("button", name="Add stage").click()
    error = page.locator(".field--invalid .field__error")
    error.wait_for()
    assert "already has a stage" in error.inner_text()
    assert page.get_by_label("Name").input_value() == "Ingest again"
    screenshot(page, "stage-editor-error")
    assert page.problems == [], "\n".join(page.problems)
