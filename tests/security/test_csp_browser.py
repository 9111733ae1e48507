"""Every page of the demo, its htmx swaps and its charts work in Chromium under
the production Content-Security-Policy with not one violation, and typed text
never runs as script.

The pages come from the resolver with the demo's slugs and ids filled in
(tests/security/routes.py), so a page added later is visited too. A listener
for `securitypolicyviolation`, installed before any page script runs, reports
each violation back to the test, and any alert() or confirm() that is not a
button's own confirmation would be a payload running.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.browser.conftest import LEDGER_POLL_MS, screenshot, wait_for_charts
from tests.browser.test_stage_editor import _log_in
from tests.security.routes import DemoValues, all_routes
from tests.security.test_escaping import PAYLOADS, plant
from toc.cycles.models import Cycle, CycleStatus
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTENERS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportViolation([e.violatedDirective, e.blockedURI, e.sourceFile,
    e.lineNumber, location.pathname].join(" "));
});
document.addEventListener("htmx:afterSwap", (e) => {
  if (e.detail.target.id === "ledger") { window.__ledgerSwapped = true; }
  const target = e.detail.target;
  window.reportSwap(location.pathname + " #" + (target.id || target.className));
});
"""


def html_pages(client: Client, values: DemoValues) -> list[str]:
    """Each URL of each non-API route that answers a GET with a page."""
    urls = ["/api/docs/"]
    for route in all_routes():
        if route.is_api or route.route.startswith("admin/"):
            continue
        for filling in values.fillings(route):
            url = route.url(filling)
            answer = client.get(url)
            if answer.status_code == 200 and answer["Content-Type"].startswith(
                "text/html"
            ):
                urls.append(url)
    return urls


def test_every_page_swap_and_chart_runs_without_a_csp_violation(
    page, live_server
) -> None:
    system = demo_load()
    plant(PAYLOADS["img"], lambda **_: contextlib.nullcontext())
    user = system.team.memberships.get().user
    client = Client()
    client.force_login(user)
    urls = html_pages(client, DemoValues.of(system, user))

    violations: list[str] = []
    swaps: list[str] = []
    dialogs: list[str] = []
    page.expose_function("reportViolation", lambda v: violations.append(v))
    page.expose_function("reportSwap", lambda s: swaps.append(s))
    page.add_init_script(LISTENERS)

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept() if dialog.type == "confirm" else dialog.dismiss()

    page.on("dialog", on_dialog)
    _log_in(page, live_server)

    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        wait_for_charts(page)
    screenshot(page, "csp-last-page")

    # The dashboard: the ledger's poll, the range switch and the what-if.
    page.clock.install()
    page.goto(f"{live_server.url}/systems/nad/")
    wait_for_charts(page)
    expect(page.locator("#ledger")).to_be_attached()
    # On to the ledger's next poll, and wait for its swap.
    page.clock.fast_forward(LEDGER_POLL_MS)
    page.wait_for_function("() => window.__ledgerSwapped === true", timeout=12_000)
    page.get_by_role("link", name="Week").click()
    expect(page.get_by_role("link", name="Week")).to_have_attribute(
        "aria-current", "page"
    )
    wait_for_charts(page)
    page.get_by_label("Factor", exact=True).fill("3")
    page.get_by_role("button", name="Recompute").click()
    expect(page.locator("#what-if-result")).to_contain_text("Ceiling")
    screenshot(page, "csp-dashboard")

    # The stage editor: add, move, edit in place.
    page.goto(f"{live_server.url}/systems/nad/stages/")
    page.get_by_label("Name", exact=True).fill("Enrichment")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages .stage")).to_have_count(8)
    page.get_by_role("button", name="Move Enrichment up").click()
    expect(page.locator("#stages .stage__name").last).to_have_text("Triage")
    page.get_by_role("link", name="Edit Enrichment").click()
    row = page.locator("li.stage--editing")
    row.get_by_label("Name", exact=True).fill("Async enrichment")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#stages")).to_contain_text("Async enrichment")
    screenshot(page, "csp-stages")

    # A cycle's rows: add a why, then edit one in place.
    open_cycle = Cycle.objects.exclude(status=CycleStatus.CLOSED).get()
    page.goto(f"{live_server.url}/systems/nad/cycles/{open_cycle.number}/problem/")
    add = page.locator("#rows-whys form.row-add")
    add.locator("textarea, input[type=text]").first.fill("Because the tier is slow")
    add.get_by_role("button", name=re.compile("^Add")).click()
    expect(page.locator("#rows-whys")).to_contain_text("Because the tier is slow")
    first = page.locator("#rows-whys li.row-item:not(.row-item--empty)").first
    first.get_by_role("link", name=re.compile(r"^Edit\b")).click()
    editor = page.locator("#rows-whys li.row-item--editing")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#rows-whys li.row-item--editing")).to_have_count(0)
    screenshot(page, "csp-cycle-rows")

    # The listener itself works: an inline style the policy refuses is reported.
    page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'body { color: red }'; document.head.append(s); }"
    )
    page.wait_for_timeout(200)
    control = [v for v in violations if v.startswith("style-src")]
    assert len(control) == 1, violations
    violations.remove(control[0])
    page.problems[:] = [p for p in page.problems if "inline style" not in p]

    swapped = {swap.split(" ", 1)[1] for swap in swaps}
    print(
        f"\npages: {len(urls)}; swaps: {len(swaps)} ({sorted(swapped)}); "
        f"violations: {len(violations)}; dialogs: {dialogs}"
    )
    assert violations == [], "\n".join(violations)
    assert [d for d in dialogs if "alert" in d or d == "1"] == []
    assert dialogs == []
    for target in ("#ledger", "#series", "#what-if-result", "#stages", "#rows-whys"):
        assert target in swapped, f"no htmx swap into {target}: {sorted(swapped)}"
    assert page.problems == [], "\n".join(page.problems)
