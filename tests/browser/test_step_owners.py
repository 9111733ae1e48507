"""Steps people own, in the browser: an editor gives a step an owner and a due
date from the keyboard, mentions a teammate in a comment, and the cycle history
counts the step as overdue; the step page fits a 390 px phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from tests.factories import MembershipFactory, UserFactory
from toc.accounts.models import Role, Team
from toc.cycles.models import Comment, CycleStatus, StepPlan
from toc.cycles.services import cycle_open
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _scroll_width(page, width: int) -> int:
    page.set_viewport_size({"width": width, "height": 844})
    return page.evaluate("document.documentElement.scrollWidth")


def test_an_editor_assigns_a_step_and_mentions_a_teammate(page, live_server) -> None:
    page.set_default_timeout(10_000)
    system = demo_load(history=False)
    alice = UserFactory(username="alice")
    MembershipFactory(team=Team.objects.get(slug="demo"), user=alice, role=Role.EDITOR)
    cycle = system.cycles.filter(status=CycleStatus.OPEN).first() or cycle_open(
        system=system, title="Triage saturates"
    )
    step_url = f"{live_server.url}{cycle.get_absolute_url()}experiment/"
    yesterday = timezone.localdate() - timedelta(days=1)
    _log_in(page, live_server)
    page.goto(step_url)

    plan = page.get_by_role("form", name="Owner and due date of this step")
    plan.get_by_label("Owner").select_option("alice")
    due = plan.get_by_label("Due")
    due.fill(yesterday.isoformat())
    due.press("Enter")  # the keyboard submits the form
    page.wait_for_url(f"{step_url}#step-plan")
    expect(page.locator("#step-plan")).to_contain_text(
        f"alice owns this step; due {yesterday:%Y-%m-%d}. Overdue"
    )

    comment = page.get_by_role("form", name="Comment on this step")
    comment.get_by_label("Comment").fill("@alice can you time-box this? @nobody")
    comment.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"{step_url}#comment-*")
    expect(page.locator("#comments .mention")).to_have_text("@alice")
    expect(page.locator("#comments")).to_contain_text("time-box this? @nobody")

    plan_row = StepPlan.objects.get(cycle=cycle, step="experiment")
    assert (plan_row.owner, plan_row.due) == (alice, yesterday)
    assert list(Comment.objects.get().mentions.all()) == [alice]

    page.locator("#step-plan").scroll_into_view_if_needed()
    screenshot(page, "step-owner-1280")
    width = _scroll_width(page, 390)
    screenshot(page, "step-owner-390")
    assert width <= 390, f"the step page is {width} px wide at 390"

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/systems/{system.slug}/cycles/")
    expect(page.get_by_text("1 step overdue")).to_be_visible()
    screenshot(page, "cycles-overdue-1280")
    width = _scroll_width(page, 390)
    screenshot(page, "cycles-overdue-390")
    assert width <= 390, f"the cycle history is {width} px wide at 390"
    assert not page.problems
