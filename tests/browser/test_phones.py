"""The demo on a phone: at 390 px wide no page scrolls sideways (nor does the
SLO page's row edited in place, nor a live SLO's own page), the SLO tables
stack instead of scrolling inside their card, charts follow the window, the
conflict cloud stacks; on paper the cloud keeps its layout and the navigation
is left out. The main pages are photographed at a phone's width and a
laptop's (test-artifacts/phone-*.png, laptop-*.png)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, screenshot, wait_for_charts
from tests.browser.test_stage_editor import _log_in
from tests.factories import StageFactory, SystemFactory
from toc.accounts.models import Membership
from toc.cycles.models import Assumption
from toc.cycles.records import STEPS
from toc.cycles.services import cycle_open
from toc.dashboard.figures import RANGES
from toc.demo.loader import DEMO_USER, demo_load
from toc.metrics.models import SloBudget
from toc.systems.models import Slo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
MAIN_PAGES = {
    "systems",
    "dashboard",
    "timeline",
    "slos",
    "slo-live",
    "slo-not-live",
    "cycles",
    "cycle-1",
    "cycle-1-goal",
    "cycle-2-goal",
    "cycle-1-conflict",
    "cycle-1-retrospective",
    "team-demo",
    "team-demo-notifications",
    "prometheus",
    "tokens",
}

# What reaches past the window's right edge and is not inside a box that
# scrolls, so that a failure names where to look.
PAST_THE_EDGE = """() => {
  const clipped = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 && !clipped(e))
    .slice(0, 3)
    .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ` +
      (e.textContent || "").trim().slice(0, 40));
}"""


def _bind_live(slo: Slo, stage: str) -> None:
    """Binds the SLO to a stage's p95 with an objective, and gives it the
    figures of a window whose budget ran out (the worker does not run here)."""
    slo.indicator, slo.stage, slo.field = "threshold", stage, "latency_p95_ms"
    slo.comparator, slo.threshold, slo.objective = "<=", 60_000, 0.99
    slo.save()
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    hours = [end - timedelta(hours=n) for n in range(28 * 24, -1, -1)]
    left = [1 - 1.2 * n / len(hours) for n in range(len(hours))]
    burn = [1.2 + 15 * (n % 97 == 0) for n in range(len(hours))]
    SloBudget.objects.create(
        slo=slo,
        computed_at=end,
        window_start=hours[0],
        window_end=end,
        good=39_830,
        total=40_320,
        compliance=0.988,
        budget_remaining=left[-1],
        burn_rates={"5m": 0.4, "30m": 1.1, "1h": 1.2, "2h": 1.3, "6h": 1.6},
        alert="ticket",
        alert_since=end - timedelta(hours=3),
        series={
            "t": [hour.isoformat() for hour in hours],
            "budget_remaining": left,
            "burn_rate_1h": burn,
        },
    )


def _demo_pages() -> list[tuple[str, str]]:
    """Every page the demo user reaches, as (name, path), the API docs aside;
    the demo's first SLO made live."""
    system = demo_load()
    slug = system.slug
    slo = system.slos.first().pk
    _bind_live(system.slos.first(), system.stages.last().slug)
    not_live = system.slos.last().pk
    pages = [
        ("systems", "/systems/"),
        ("system-new", "/systems/new/"),
        ("dashboard", f"/systems/{slug}/"),
        *[(f"dashboard-{key}", f"/systems/{slug}/?range={key}") for key in RANGES],
        ("what-if", f"/systems/{slug}/?stage=Triage&factor=2"),
        ("timeline", f"/systems/{slug}/timeline/"),
        ("slos", f"/systems/{slug}/slos/"),
        ("slo-live", f"/systems/{slug}/slos/{slo}/"),
        ("slo-not-live", f"/systems/{slug}/slos/{not_live}/"),
        ("slo-add", f"/systems/{slug}/slos/add/"),
        ("slo-edit", f"/systems/{slug}/slos/{slo}/edit/"),
        ("slo-delete", f"/systems/{slug}/slos/{slo}/delete/"),
        ("stages", f"/systems/{slug}/stages/"),
        *[
            (f"stage-{stage}", f"/systems/{slug}/stages/{stage}/")
            for stage in system.stages.values_list("slug", flat=True)
        ],
        ("prometheus", f"/systems/{slug}/prometheus/"),
        ("keys", f"/systems/{slug}/keys/"),
        ("system-edit", f"/systems/{slug}/edit/"),
        ("cycles", f"/systems/{slug}/cycles/"),
    ]
    for number in system.cycles.order_by("number").values_list("number", flat=True):
        base = f"/systems/{slug}/cycles/{number}"
        pages += [
            (f"cycle-{number}", f"{base}/"),
            *[(f"cycle-{number}-{step}", f"{base}/{step}/") for step in STEPS],
            (f"cycle-{number}-trail", f"{base}/trail/"),
            (f"cycle-{number}-retrospective", f"{base}/retrospective/"),
        ]
    pages += [("teams", "/teams/"), ("team-new", "/teams/new/")]
    for team in Membership.objects.filter(user__username=DEMO_USER[0]).values_list(
        "team__slug", flat=True
    ):
        pages.append((f"team-{team}", f"/teams/{team}/"))
        pages.append((f"team-{team}-notifications", f"/teams/{team}/notifications/"))
    pages += [("tokens", "/account/tokens/"), ("password", "/account/password/")]
    return pages


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, (
        f"{url}: {response and response.status}"
    )
    # Charts are drawn once the page has loaded; they must fit once drawn.
    wait_for_charts(page)


def _scrolls_sideways(page) -> str:
    width, window = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    if width <= window:
        return ""
    return f"{width} px wide in {window} px: {page.evaluate(PAST_THE_EDGE)}"


# The SLO tables stack on a phone: one that scrolls inside its card hides the
# status and the actions past the card's edge.
STACKED_TABLES_SCROLLING = """() => [...document.querySelectorAll(".table--stack")]
  .map((table) => table.closest(".table-scroll") || table)
  .filter((box) => box.scrollWidth > box.clientWidth)
  .map((box) => `${box.scrollWidth} px in ${box.clientWidth} px: ` +
    box.textContent.trim().slice(0, 40))"""


def _edit_an_slo_in_place(page, live_server) -> None:
    """Opens the SLO page's first row for editing, in place."""
    _visit(page, f"{live_server.url}/systems/nad/slos/")
    page.locator("#slos tbody tr").first.get_by_role(
        "link", name=re.compile(r"^Edit\b")
    ).click()
    expect(page.locator("#slos tr.row-editing")).to_be_visible()


def test_no_page_of_the_demo_scrolls_sideways_on_a_phone(page, live_server) -> None:
    pages = _demo_pages()
    assert {name for name, _ in pages} >= MAIN_PAGES
    _log_in(page, live_server)

    page.set_viewport_size(PHONE)
    sideways = []
    for name, path in pages:
        _visit(page, f"{live_server.url}{path}")
        if problem := _scrolls_sideways(page):
            sideways.append(f"{path}: {problem}")
        sideways += [f"{path}: {t}" for t in page.evaluate(STACKED_TABLES_SCROLLING)]
        if name in MAIN_PAGES:
            screenshot(page, f"phone-{name}")
    _edit_an_slo_in_place(page, live_server)
    if problem := _scrolls_sideways(page):
        sideways.append(f"an SLO edited in place: {problem}")
    sideways += page.evaluate(STACKED_TABLES_SCROLLING)
    screenshot(page, "phone-slos-editing")
    assert sideways == [], "\n".join(sideways)

    page.set_viewport_size(LAPTOP)
    for name, path in pages:
        if name in MAIN_PAGES:
            _visit(page, f"{live_server.url}{path}")
            assert _scrolls_sideways(page) == "", path
            screenshot(page, f"laptop-{name}")
    _edit_an_slo_in_place(page, live_server)
    assert _scrolls_sideways(page) == ""
    screenshot(page, "laptop-slos-editing")
    assert page.problems == [], "\n".join(page.problems)


def test_charts_follow_the_window_down_to_a_phone(page, live_server) -> None:
    demo_load()
    _log_in(page, live_server)
    _visit(page, f"{live_server.url}/systems/nad/")
    charts = page.locator(".chart")
    expect(charts.first.locator(".main-svg").first).to_be_visible()
    drawn = "[...document.querySelectorAll('.chart .main-svg:first-child')]"
    widths = f"{drawn}.map((svg) => svg.getBoundingClientRect().width)"
    assert min(page.evaluate(widths)) > PHONE["width"]

    page.set_viewport_size(PHONE)
    page.wait_for_function(
        f"{drawn}.every((svg) => svg.getBoundingClientRect().width <= "
        "svg.closest('.chart').getBoundingClientRect().width)"
    )
    assert len(page.evaluate(widths)) == charts.count()
    assert _scrolls_sideways(page) == ""
    assert page.problems == [], "\n".join(page.problems)


def test_long_words_wrap_instead_of_widening_the_page(page, live_server) -> None:
    team = demo_load(history=False).team
    system = SystemFactory(
        team=team,
        name="Anomaly" * 12,
        slug="long",
        description="https://example.com/" + "path/" * 40,
    )
    StageFactory(system=system, name="Ingest" * 10, slug="ingest")
    cycle = cycle_open(system=system, title="Backlog" * 20)
    conflict = cycle.conflict
    conflict.objective = conflict.need_b = conflict.action_e = "Throughput" * 20
    conflict.save()
    Assumption.objects.create(conflict=conflict, arrow="c_e", text="Latency" * 30)
    _log_in(page, live_server)
    page.set_viewport_size(PHONE)
    for path in ("", "stages/", "cycles/", "cycles/1/", "cycles/1/conflict/"):
        _visit(page, f"{live_server.url}/systems/long/{path}")
        assert _scrolls_sideways(page) == "", path
    _visit(page, f"{live_server.url}/systems/")
    assert _scrolls_sideways(page) == ""
    assert page.problems == [], "\n".join(page.problems)


def _box(page, key: str) -> dict:
    return page.locator(f".cloud [data-box='{key}']").bounding_box()


def test_the_cloud_stacks_on_a_phone_and_keeps_its_layout_on_paper(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    conflict = f"{live_server.url}/systems/nad/cycles/1/conflict/"

    # Wide: A on the left, B and C in the middle, D and D′ on the right.
    _visit(page, conflict)
    a, b, c, d, e = (_box(page, key) for key in ("A", "B", "C", "D", "D′"))
    assert a["x"] + a["width"] < b["x"] == c["x"]
    assert b["x"] + b["width"] < d["x"] == e["x"]
    assert b["y"] < c["y"] and d["y"] < e["y"]
    broken = page.locator(".cloud [data-arrow='b_d'] .cloud__assumption--broken")
    expect(broken).to_contain_text("broken")

    # A phone: one column in reading order, A, then B and D, then C and D′.
    page.set_viewport_size(PHONE)
    _visit(page, conflict)
    boxes = [_box(page, key) for key in ("A", "B", "D", "C", "D′")]
    assert len({round(box["x"]) for box in boxes}) == 1
    tops = [box["y"] for box in boxes]
    assert tops == sorted(tops)
    conflict_arrow = page.locator(".cloud [data-arrow='d_e']").bounding_box()
    assert conflict_arrow["y"] > tops[-1]

    # Paper, at about an A4 page's width: the classic layout, no navigation.
    page.set_viewport_size({"width": 720, "height": 1000})
    for path in ("conflict/", "retrospective/"):
        _visit(page, f"{live_server.url}/systems/nad/cycles/1/{path}")
        page.emulate_media(media="print")
        for navigation in (".topbar", ".tabs", ".crumbs"):
            expect(page.locator(navigation).first).to_be_hidden()
        expect(page.locator(".cloud")).to_be_visible()
        b, d = _box(page, "B"), _box(page, "D")
        assert b["y"] == d["y"] and b["x"] < d["x"]
        expect(broken).to_be_visible()
        page.locator(".cloud").screenshot(path=ARTIFACTS / f"print-{path[:-1]}.png")
        assert page.pdf(format="A4")[:4] == b"%PDF"
        page.emulate_media(media="screen")
    assert page.problems == [], "\n".join(page.problems)


# The flow chart's labels as drawn: each one's box, and any two that overlap.
FLOW_LABELS = """() => {
  const chart = document.getElementById("chart-flow").getBoundingClientRect();
  const boxes = [...document.querySelectorAll("#chart-flow .annotation-text")]
    .filter((e) => e.textContent.trim())
    .map((e) => [e.textContent, e.getBoundingClientRect()]);
  const outside = boxes.filter(([, b]) => b.left < chart.left || b.right > chart.right);
  const overlaps = [];
  boxes.forEach(([text, a], i) => boxes.slice(i + 1).forEach(([other, b]) => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
      overlaps.push(`${text} / ${other}`);
    }
  }));
  return {count: boxes.length, outside: outside.map(([t]) => t), overlaps};
}"""


def test_the_flow_stacks_its_stages_where_they_do_not_fit_side_by_side(
    page, live_server
) -> None:
    demo_load()
    _log_in(page, live_server)
    flow = page.locator("#chart-flow")

    page.set_viewport_size(PHONE)
    _visit(page, f"{live_server.url}/systems/nad/")
    expect(flow).to_have_attribute("data-narrow", "true")
    labels = page.evaluate(FLOW_LABELS)
    assert labels["count"] > 6
    assert labels["outside"] == [] and labels["overlaps"] == [], labels
    # Stacked: every box spans the chart, so its card has nothing to scroll.
    assert page.evaluate(
        "document.getElementById('chart-flow').layout.shapes.every((s) => s.x0 === 0)"
    )
    card = "document.getElementById('chart-flow').closest('.chart-card')"
    assert page.evaluate(f"{card}.scrollWidth <= {card}.clientWidth")
    flow.screenshot(path=ARTIFACTS / "phone-flow.png")

    # Turned into a laptop's window: side by side again, labels apart.
    page.set_viewport_size(LAPTOP)
    expect(flow).to_have_attribute("data-narrow", "false")
    page.wait_for_function(
        "document.getElementById('chart-flow').layout.shapes[2].x0 === 1"
    )
    labels = page.evaluate(FLOW_LABELS)
    assert labels["outside"] == [] and labels["overlaps"] == [], labels
    flow.screenshot(path=ARTIFACTS / "laptop-flow.png")
    assert page.problems == [], "\n".join(page.problems)
