"""The cycle list's timeline on a phone: its last date and its zoom buttons stay
inside the chart whatever window it shows."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_stage_editor import _log_in
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The timeline's window moved on six hours at a time for two weeks, as the days
# move it: every window whose last x tick label is hidden (plotly.js hides one
# that would cross the chart's edge) or reaches past the chart.
LAST_LABEL_LOST = """async (id) => {
  const chart = document.getElementById(id);
  const box = chart.getBoundingClientRect();
  const [start, end] = chart._fullLayout.xaxis.range.map((t) => new Date(t + "Z"));
  const lost = [];
  for (let step = 0; step <= 56; step++) {
    const until = new Date(end.getTime() + step * 6 * 3600 * 1000);
    const range = [start.toISOString(), until.toISOString()];
    await Plotly.relayout(chart, {"xaxis.range": range});
    const labels = [...chart.querySelectorAll(".xtick text")];
    const r = labels[labels.length - 1].getBoundingClientRect();
    if (r.width === 0 || r.right > box.right) lost.push(until.toISOString());
  }
  return lost;
}"""


def test_the_timeline_on_a_phone_keeps_its_last_date_and_its_buttons(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/systems/nad/cycles/")
    page.wait_for_selector("#chart-timeline .xtick text")
    assert page.evaluate(LAST_LABEL_LOST, "chart-timeline") == []
    right = page.locator("#chart-timeline").bounding_box()
    buttons = page.locator("#chart-timeline .rangeselector .button")
    expect_count = buttons.count()
    assert expect_count == 5
    for index in range(expect_count):
        box = buttons.nth(index).bounding_box()
        assert box["x"] + box["width"] <= right["x"] + right["width"], index
    screenshot(page, "phone-timeline-axis-end")
    assert page.problems == []
