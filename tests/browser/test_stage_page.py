from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIME_CHARTS = [
    "chart-utilization",
    "chart-occupancy",
    "chart-queue",
    "chart-latency",
]


def _x_range(page, chart_id: str) -> list[str]:
    return page.evaluate(
        "id => document.getElementById(id)._fullLayout.xaxis.range.slice()", chart_id
    )


def _drawn(page, chart_id: str) -> None:
    expect(page.locator(f"#{chart_id} .main-svg").first).to_be_attached()


def _drag_across(page, chart_id: str, start: float, end: float) -> None:
    """Drags across the plot area of ``chart_id`` from ``start`` to ``end``
    (shares of its width), as a person zooms in on a stretch of time."""
    area = page.locator(f"#{chart_id} .nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=4)
    page.mouse.up()


def _all_show(page, x_range: list[str]) -> None:
    for chart in TIME_CHARTS:
        page.wait_for_function(
            "([id, range]) => JSON.stringify("
            "document.getElementById(id)._fullLayout.xaxis.range) === "
            "JSON.stringify(range)",
            arg=[chart, x_range],
        )


def test_the_stage_page_opens_from_the_ledger_table_and_the_flow_chart(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/")

    page.locator("table.ledger-table").get_by_role("link", name="Triage").click()
    page.wait_for_url(f"{live_server.url}/systems/nad/stages/triage/")
    expect(page.get_by_role("heading", name=re.compile("^Triage"))).to_be_visible()
    expect(page.get_by_text("Busy, blocked, idle")).to_be_visible()
    for chart in TIME_CHARTS:
        _drawn(page, chart)
    screenshot(page, "stage-page")

    page.goto(f"{live_server.url}/systems/nad/")
    _drawn(page, "chart-flow")
    # The flow chart's third box is Feature-Tier2: a click on it opens its page.
    point = page.evaluate(
        """() => {
          const chart = document.getElementById("chart-flow");
          const layout = chart._fullLayout;
          const box = chart.getBoundingClientRect();
          const x = chart.data[0].x[2], y = chart.data[0].y[2];
          return {
            x: box.left + layout._size.l + layout.xaxis.l2p(x),
            y: box.top + layout._size.t + layout.yaxis.l2p(y),
          };
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"{live_server.url}/systems/nad/stages/feature-tier2/")
    expect(
        page.get_by_role("heading", name=re.compile("^Feature-Tier2"))
    ).to_be_visible()
    assert page.problems == [], "\n".join(page.problems)


def test_a_zoom_moves_every_chart_and_the_address_keeps_the_window(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/stages/alerting/?range=day")
    for chart in TIME_CHARTS:
        _drawn(page, chart)
    before = _x_range(page, "chart-queue")

    _drag_across(page, "chart-queue", 0.5, 0.75)
    page.wait_for_url(re.compile(r"\?from=.*&to="))
    zoomed = _x_range(page, "chart-queue")
    assert zoomed != before
    _all_show(page, zoomed)
    assert "range=" not in page.url
    screenshot(page, "stage-page-zoomed")

    # A double click goes back to the window the page came with, everywhere.
    page.locator("#chart-latency .nsewdrag").first.dblclick(position={"x": 40, "y": 40})
    page.wait_for_url(f"{live_server.url}/systems/nad/stages/alerting/?range=day")
    _all_show(page, before)

    _drag_across(page, "chart-utilization", 0.25, 0.5)
    page.wait_for_url(re.compile(r"\?from=.*&to="))
    zoomed = _x_range(page, "chart-utilization")

    # The link shows the same window: the server draws it, to the second.
    page.goto(page.url)
    _drawn(page, "chart-utilization")
    reloaded = _x_range(page, "chart-utilization")
    assert [value[:19] for value in reloaded] == [value[:19] for value in zoomed]
    expect(page.locator("details.window-form summary")).to_contain_text("Showing")
    assert page.problems == [], "\n".join(page.problems)


def test_a_range_of_ones_own_from_the_keyboard(page, live_server) -> None:
    demo_load()
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/systems/nad/")
    _drawn(page, "chart-series")
    # From the keyboard: open the form, type a start, press Enter.
    page.get_by_text("Choose a range").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("From (UTC)")).to_be_focused()
    page.get_by_label("From (UTC)").fill("2026-11-01T10:00")
    page.keyboard.press("Enter")
    expect(page.locator("#id_to_error")).to_have_text("Give the end of the range too.")
    to = page.get_by_label("To (UTC)")
    expect(to).to_have_attribute("aria-invalid", "true")
    assert "id_to_error" in to.get_attribute("aria-describedby")
    expect(page.get_by_label("From (UTC)")).to_have_value("2026-11-01T10:00")

    end = page.evaluate(
        "() => document.getElementById('chart-series')._fullLayout.xaxis.range[1]"
    )
    day = end[:10]
    page.get_by_label("From (UTC)").fill(f"{day}T00:00")
    page.get_by_label("To (UTC)").fill(f"{day}T06:00")
    page.get_by_label("To (UTC)").press("Enter")
    page.wait_for_url(re.compile(rf"from={day}T00%3A00&to={day}T06%3A00"))
    _drawn(page, "chart-series")
    series = _x_range(page, "chart-series")
    assert series[0].startswith(day) and series[1].startswith(day)
    screenshot(page, "dashboard-custom-range")

    # A zoom on the dashboard's series also lands in the address.
    _drag_across(page, "chart-series", 0.25, 0.5)
    page.wait_for_url(re.compile(rf"from={day}T0[12]"))
    assert page.problems == [], "\n".join(page.problems)
