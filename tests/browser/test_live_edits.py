"""What an inline edit changes elsewhere on the page shows without a reload:
the "still missing" box, the chain's step states, the chain's findings, the
cloud. And the ingest-key page, which shows a new key once, with a copy button,
and makes no second key when reloaded.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_cycle_walkthrough import (
    _add_form,
    _edit_row,
    _htmx,
    _label,
    _rows,
)
from tests.browser.test_stage_editor import _log_in
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_open
from toc.demo.loader import demo_load
from toc.systems.models import IngestKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fresh_cycle(live_server) -> str:
    """The demo system with a new cycle, every step still empty: its URL."""
    system = demo_load(history=False)
    system.cycles.filter(status=CycleStatus.OPEN).update(status=CycleStatus.CLOSED)
    cycle: Cycle = cycle_open(system=system, title="Live edits")
    return f"{live_server.url}{cycle.get_absolute_url()}"


def _chain_step(page: Page, label: str):
    chain = page.get_by_role("navigation", name=re.compile(r"^The chain of cycle"))
    return chain.locator("li.chain__step", has=page.get_by_role("link", name=label))


def test_a_why_updates_what_is_missing_and_the_chain_in_place(
    page, live_server
) -> None:
    page.set_default_timeout(10_000)
    cycle_url = _fresh_cycle(live_server)
    _log_in(page, live_server)
    page.goto(f"{cycle_url}problem/")
    problem = _chain_step(page, "Problem")
    expect(problem).to_have_class(re.compile(r"\bchain__step--missing\b"))
    todo = page.locator("#todo .todo-box")
    expect(todo).to_contain_text("Fewer than 3 whys")
    expect(todo).not_to_contain_text("No evidence")
    page.evaluate("window.__noReload = true")

    # A why without its evidence: the box adds what is missing.
    form = _add_form(page, "whys")
    form.get_by_label(_label("Because…")).fill("Tier-2 computes 47 features per record")
    _htmx(page, form.get_by_role("button", name="Add why"))
    expect(_rows(page, "whys")).to_have_count(1)

    expect(problem).to_have_class(re.compile(r"\bchain__step--draft\b"))
    expect(todo).to_contain_text("No evidence is recorded for this answer")
    assert page.evaluate("window.__noReload") is True
    assert page.problems == []


def test_the_chains_findings_follow_a_why_in_place(page, live_server) -> None:
    page.set_default_timeout(10_000)
    cycle_url = _fresh_cycle(live_server)
    _log_in(page, live_server)
    page.goto(f"{cycle_url}problem/")
    findings = page.locator("#findings")
    expect(findings).to_contain_text("Fewer than 3 whys")
    expect(findings).not_to_contain_text("Why 1:")
    page.evaluate("window.__noReload = true")

    form = _add_form(page, "whys")
    form.get_by_label(_label("Because…")).fill("Tier-2 computes 47 features per record")
    _htmx(page, form.get_by_role("button", name="Add why"))
    expect(findings).to_contain_text("Why 1: No evidence is recorded")

    editor = _edit_row(page, "whys", _rows(page, "whys").first)
    editor.get_by_label(_label("Evidence")).fill("Profiler: 47 features, 31 unused")
    _htmx(page, editor.get_by_role("button", name="Save"))
    expect(findings).not_to_contain_text("No evidence is recorded")
    expect(findings).to_contain_text("Why 1: This answer has not been checked yet")
    screenshot(page, "problem-findings-in-place")
    assert page.evaluate("window.__noReload") is True
    assert page.problems == []


def test_an_assumption_appears_in_the_cloud_in_place(page, live_server) -> None:
    page.set_default_timeout(10_000)
    cycle_url = _fresh_cycle(live_server)
    _log_in(page, live_server)
    page.goto(f"{cycle_url}conflict/")
    under_b_d = page.locator(".cloud [data-arrow='b_d'] .cloud__assumption")
    expect(under_b_d).to_have_count(0)
    expect(page.locator("#todo")).to_contain_text("List the assumptions")
    page.evaluate("window.__noReload = true")

    form = _add_form(page, "assumptions")
    form.get_by_label(_label("Props up")).select_option(label="Need B ← action D")
    form.get_by_label(_label("We assume that…")).fill("Every record needs Tier 2")
    _htmx(page, form.get_by_role("button", name="Add assumption"))

    expect(under_b_d).to_have_count(1)
    expect(under_b_d).to_contain_text("Every record needs Tier 2")
    expect(under_b_d).to_contain_text("not challenged yet")
    expect(page.locator("#todo")).not_to_contain_text("List the assumptions")
    # The conflict form offers it as the one to break, still without a reload.
    broken = page.get_by_label(_label("Assumption the team chose to break"))
    expect(
        broken.locator("option", has_text="Every record needs Tier 2")
    ).to_have_count(1)
    assert page.evaluate("window.__noReload") is True
    assert page.problems == []


def test_a_new_key_is_shown_once_with_a_copy_button(page, live_server) -> None:
    page.set_default_timeout(10_000)
    demo_load(history=False)
    _log_in(page, live_server)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    page.goto(f"{live_server.url}/systems/nad/keys/")
    keys_before = IngestKey.objects.count()

    page.get_by_label(_label("Name")).fill("staging pipeline")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"{live_server.url}/systems/nad/keys/")
    secret = page.locator("#new-secret").inner_text().strip()
    assert secret.startswith("tocik_")
    copy = page.get_by_role("button", name="Copy key")
    expect(copy).to_be_visible()
    copy.click()
    status = page.locator("[data-copy-status]")
    expect(status).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "keys-new-secret")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "keys-new-secret-phone")

    page.reload()
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.get_by_role("cell", name="staging pipeline", exact=True)).to_have_count(
        1
    )
    assert IngestKey.objects.count() == keys_before + 1
    assert page.problems == []
