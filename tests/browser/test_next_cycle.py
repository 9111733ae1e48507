"""One cycle in progress per system, in the browser, on the demo: a blocked
"Start next cycle" (what is unfinished, listed before anything closes), a
second cycle refused with a link to the open one, and a closed cycle reopened
by the team admin with a reason that the trail shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from toc.cycles.chain import chain, unfinished
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_close, cycle_open
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "The 75% phase failed a week after we closed; the rollout is not done."


def _fits_a_phone(page, name: str) -> None:
    """The page at 390 px wide does not scroll sideways; then back to 1280."""
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert width <= 390, f"{name}: {width} px wide"


def test_a_blocked_start_next_cycle_lists_what_is_unfinished_then_closes(
    page, live_server
) -> None:
    page.set_default_timeout(10_000)
    demo_load()
    running = Cycle.objects.get(system__slug="nad", status=CycleStatus.OPEN)
    left = unfinished(chain(running))
    assert left, "the demo's cycle in progress has steps to finish"
    cycle_url = f"{live_server.url}{running.get_absolute_url()}"
    _log_in(page, live_server)

    page.goto(f"{cycle_url}outcome/")
    page.get_by_role("link", name="Start next cycle").click()
    page.wait_for_url(f"{cycle_url}next/")
    expect(
        page.get_by_role("heading", name=f"Close cycle {running.number} and start")
    ).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="not done")).to_contain_text(
        f"{len(left)} step"
    )
    listed = page.get_by_role("list", name="Steps not done").locator(":scope > li > a")
    expect(listed).to_have_text([step.label for step in left])
    for step in left:
        for item in step.todo:
            expect(page.get_by_text(item, exact=True)).to_be_visible()
    screenshot(page, "next-cycle-confirm")
    _fits_a_phone(page, "next-cycle-confirm-390")

    # Cancel closes nothing.
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{cycle_url}outcome/")
    running.refresh_from_db()
    assert running.status == CycleStatus.OPEN

    page.get_by_role("link", name="Start next cycle").click()
    with page.expect_navigation():
        page.get_by_role(
            "button", name=f"Close cycle {running.number} and open the next"
        ).click()
    following = running.number + 1
    assert page.url == f"{live_server.url}/systems/nad/cycles/{following}/"
    expect(page.locator(".message--success")).to_have_text(
        f"Closed cycle {running.number} and opened cycle {following}."
    )
    screenshot(page, "next-cycle-opened")
    running.refresh_from_db()
    assert running.status == CycleStatus.CLOSED
    assert Cycle.objects.get(system__slug="nad", number=following).status == (
        CycleStatus.OPEN
    )
    assert page.problems == [], "\n".join(page.problems)


def test_a_second_cycle_is_refused_and_a_closed_one_reopened(page, live_server) -> None:
    page.set_default_timeout(10_000)
    demo_load()
    system = Cycle.objects.get(system__slug="nad", number=2).system
    cycles = f"{live_server.url}/systems/nad/cycles"
    _log_in(page, live_server)

    # Cycle 2 closed alone: the history offers to open a cycle again.
    page.goto(f"{cycles}/2/next/")
    page.get_by_role("button", name="Close it without opening another").click()
    page.wait_for_url(f"{cycles}/2/")
    expect(page.locator(".message--success")).to_have_text(
        "Closed cycle 2; no cycle is in progress now."
    )
    page.goto(f"{cycles}/")
    page.get_by_label(re.compile(r"^\s*Title")).fill("Ours")
    # Someone else opens one first, from another tab.
    cycle_open(system=system, title="Theirs")
    page.get_by_role("button", name="Open cycle").click()
    expect(
        page.get_by_role("heading", name="Cycle 3 is still in progress")
    ).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "only one of its cycles can be in progress"
    )
    screenshot(page, "cycle-in-progress-409")
    _fits_a_phone(page, "cycle-in-progress-409-390")
    page.get_by_role("link", name="Go to cycle 3").click()
    page.wait_for_url(f"{cycles}/3/")
    assert list(system.cycles.values_list("title", flat=True)) == [
        "Theirs",
        "Alert investigation takes too long",
        "Feature-Tier2 cannot keep up",
    ]

    # Cycle 2 cannot be reopened beside cycle 3; once 3 is closed, it can.
    page.goto(f"{cycles}/2/reopen/")
    expect(page.get_by_role("status")).to_contain_text(
        "cannot be reopened while cycle 3"
    )
    cycle_close(cycle=Cycle.objects.get(system=system, number=3))
    page.goto(f"{cycles}/2/")
    page.get_by_role("link", name="Reopen this cycle").click()
    page.wait_for_url(f"{cycles}/2/reopen/")
    page.get_by_role("button", name="Reopen cycle 2").click()
    expect(page.locator(".field__error")).to_have_text(
        "Say why the cycle is reopened; the trail keeps the reason."
    )
    page.get_by_label("Reason").fill(REASON)
    screenshot(page, "cycle-reopen")
    _fits_a_phone(page, "cycle-reopen-390")
    page.get_by_role("button", name="Reopen cycle 2").click()
    page.wait_for_url(f"{cycles}/2/")
    expect(page.locator(".cycle-head .badge")).to_have_text("In progress")
    newest = page.locator(".trail__entry").first
    expect(newest).to_contain_text("demo changed cycle")
    expect(newest).to_contain_text(f"Reason: {REASON}")
    screenshot(page, "cycle-reopened-trail")
    # The refused open is the one load the browser reports, as it does any 4xx.
    others = [p for p in page.problems if "status of 409 (Conflict)" not in p]
    assert len(page.problems) - len(others) == 1
    assert others == [], "\n".join(others)
