"""The system's SLO page in the browser, worked from the keyboard: an SLO
added (a wrong target first), one edited in place and another edit cancelled,
one moved down, one deleted after the confirmation; all with htmx, no page
load. A viewer sees the SLOs and nothing to change them with."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from tests.factories import MembershipFactory, UserFactory
from toc.accounts.models import Role
from toc.demo.loader import demo_load
from toc.systems.models import Slo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_SLOS = [
    "Time to decision (p95)",
    "Actionable alerts per day",
    "Outcome-weighted recall",
    "Coverage of relevant events",
    "Data loss",
    "Investigation time per Tier-3 alert",
]
NEW = "Recall on ransomware"


def _label(text: str) -> re.Pattern:
    """A field's label, with or without the "(optional)" the template adds."""
    return re.compile(rf"^\s*{re.escape(text)}(\s*\(optional\))?\s*$")


def _names(page: Page) -> list[str]:
    """The SLOs as listed, by name (the dimension under a name left out)."""
    return page.locator("#slos tbody th[scope='row']").evaluate_all(
        "cells => cells.map((cell) => cell.firstChild.textContent.trim())"
    )


def _row(page: Page, name: str) -> Locator:
    return page.locator("#slos tbody tr", has=page.get_by_role("rowheader", name=name))


def _press(page: Page, target: Locator, key: str = "Enter") -> None:
    """Focuses ``target``, presses ``key`` there, and waits for htmx's answer."""
    target.focus()
    with page.expect_response(
        lambda response: response.request.headers.get("hx-request") == "true"
    ) as answer:
        page.keyboard.press(key)
    response = answer.value
    assert response.status == 200, f"{response.url} answered {response.status}"


def _retype(page: Page, field: Locator, text: str) -> None:
    field.focus()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def test_an_editor_works_the_slo_page_from_the_keyboard(page, live_server) -> None:
    page.set_default_timeout(10_000)
    demo_load(history=False)
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/slos/")
    assert _names(page) == DEMO_SLOS
    page.evaluate("window.__noReload = true")

    # Added, field by field with Tab; a target past the largest amount first.
    add = page.locator("#slos form.row-add")
    add.get_by_label(_label("Name")).focus()
    page.keyboard.type(NEW)
    page.keyboard.press("Tab")
    page.keyboard.type("Custom")
    page.keyboard.press("Tab")
    for _ in range(3):  # past the empty choice, ≤ and <, to ≥
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("1e13")
    page.keyboard.press("Tab")
    page.keyboard.type("%")
    page.keyboard.press("Tab")
    page.keyboard.type("80")
    expect(add.get_by_label(_label("Dimension"))).to_have_value("custom")
    expect(add.get_by_label(_label("Comparator"))).to_have_value(">=")
    _press(page, add.get_by_label(_label("Measured")))

    target = add.get_by_label(_label("Target"))
    error = add.locator(".field--invalid:has(input[name='new-target']) .field__error")
    expect(error).to_contain_text("between 0 and")
    expect(add.locator(".field__error")).to_have_count(1)
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(target).to_have_value("1e13")
    expect(add.get_by_label(_label("Name"))).to_have_value(NEW)
    expect(add.get_by_label(_label("Measured"))).to_have_value("80")
    assert _names(page) == DEMO_SLOS
    screenshot(page, "slo-page-error")

    _retype(page, target, "90")
    _press(page, target)
    expect(page.locator("#slos tbody tr")).to_have_count(7)
    assert _names(page) == [*DEMO_SLOS, NEW]
    added = _row(page, NEW)
    expect(added.get_by_role("cell").nth(0)).to_have_text("≥ 90%")
    expect(added.locator(".state")).to_have_text("violated")
    add = page.locator("#slos form.row-add")
    expect(add.get_by_label(_label("Name"))).to_have_value("")

    # Edited in place: coverage measured again.
    coverage = _row(page, "Coverage of relevant events")
    _press(page, coverage.get_by_role("link", name="Edit Coverage of relevant events"))
    editor = page.locator("#slos tr.row-editing")
    expect(editor.get_by_label(_label("Name"))).to_have_value(
        "Coverage of relevant events"
    )
    screenshot(page, "slo-page-editing")
    _retype(page, editor.get_by_label(_label("Measured")), "91")
    _press(page, editor.get_by_label(_label("Measured")))
    expect(editor).to_have_count(0)
    expect(coverage.get_by_role("cell").nth(1)).to_have_text("91%")
    expect(coverage.locator(".state")).to_have_text("violated")

    # Another edit, cancelled: the row comes back as it was.
    data_loss = _row(page, "Data loss")
    _press(page, data_loss.get_by_role("link", name="Edit Data loss"))
    _retype(page, editor.get_by_label(_label("Name")), "Lost records")
    _press(page, editor.get_by_role("link", name="Cancel"))
    expect(editor).to_have_count(0)
    expect(data_loss).to_have_count(1)
    assert "Lost records" not in _names(page)

    # Moved down, below the alerts a day.
    first = _row(page, "Time to decision (p95)")
    _press(page, first.get_by_role("button", name="Move Time to decision (p95) down"))
    expect(page.locator("#slos tbody th[scope='row']").first).to_contain_text(
        "Actionable alerts per day"
    )
    assert _names(page)[:2] == ["Actionable alerts per day", "Time to decision (p95)"]

    # Deleted once confirmed; dismissing the question keeps it.
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    delete = _row(page, NEW).get_by_role("link", name=f"Delete {NEW}")
    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    delete.focus()
    page.keyboard.press("Enter")
    expect(_row(page, NEW)).to_have_count(1)
    assert questions == [f"Delete the SLO {NEW}? Cycles keep what they recorded of it."]
    expect(_row(page, NEW)).to_have_count(1)

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    _press(page, delete)
    expect(_row(page, NEW)).to_have_count(0)
    assert len(questions) == 2
    screenshot(page, "slo-page")

    assert page.evaluate("window.__noReload") is True
    assert page.problems == [], "\n".join(page.problems)
    slos = list(Slo.objects.filter(system__slug="nad"))
    assert [slo.name for slo in slos] == [
        "Actionable alerts per day",
        "Time to decision (p95)",
        *DEMO_SLOS[2:],
    ]
    coverage_slo = next(slo for slo in slos if slo.dimension == "coverage")
    assert (coverage_slo.target, coverage_slo.measured) == (95, 91)
    assert not Slo.objects.filter(name=NEW).exists()


def test_a_viewer_sees_the_slos_and_nothing_to_change_them_with(
    page, live_server
) -> None:
    system = demo_load(history=False)
    viewer = UserFactory(username="reader")
    MembershipFactory(team=system.team, user=viewer, role=Role.VIEWER)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("reader")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/systems/")

    page.goto(f"{live_server.url}/systems/nad/slos/")
    assert _names(page) == DEMO_SLOS
    expect(_row(page, "Time to decision (p95)").locator(".state")).to_have_text("met")
    slos = page.locator("#slos")
    expect(slos.locator("form")).to_have_count(0)
    changes = slos.get_by_role("link", name=re.compile(r"^(Edit|Delete)\b"))
    expect(changes).to_have_count(0)
    expect(slos.get_by_role("button")).to_have_count(0)
    expect(slos.get_by_role("heading", name="Add an SLO")).to_have_count(0)
    assert page.problems == [], "\n".join(page.problems)
