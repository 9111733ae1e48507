from __future__ import annotations

import json

import pytest

from tests.dashboard.test_dashboard import HTMX
from toc.accounts.models import Membership, Role
from toc.cycles.services import cycle_open
from toc.systems.models import Slo


def figure(content: str, chart_id: str) -> dict:
    """The figure the page hands to charts.js for the element ``chart_id``."""
    assert f'data-figure="{chart_id}-figure"' in content
    start = content.index(f'<script id="{chart_id}-figure" type="application/json">')
    body = content[content.index(">", start) + 1 : content.index("</script>", start)]
    return json.loads(body)


def test_dashboard_draws_flow_headroom_and_series_from_the_ledger(personas, with_data):
    content = personas.viewer.get("/systems/fraud/").content.decode()
    assert "vendor/plotly-basic.min.js" in content
    flow = figure(content, "chart-flow")
    names = [a["text"] for a in flow["layout"]["annotations"]]
    stages = [n for n in names if n in ("Ingest", "Features", "Inference")]
    assert stages == ["Ingest", "Features", "Inference"]
    assert "CONSTRAINT" in names
    headroom = figure(content, "chart-headroom")
    assert headroom["data"][0]["y"][0] == "Features"
    series = figure(content, "chart-series")
    assert [t["name"] for t in series["data"] if t["yaxis"] == "y"] == [
        "Ingest",
        "Features",
        "Inference",
    ]
    features = next(t for t in series["data"] if t["name"] == "Features")
    # The hour ends at the last processed minute: ten minutes of data, the rest gaps.
    assert len(features["y"]) == 60
    assert [v for v in features["y"] if v is not None] == [0.95] * 10


def test_dashboard_without_samples_draws_no_charts(personas):
    content = personas.viewer.get("/systems/fraud/").content.decode()
    assert "data-figure" not in content
    assert "No metrics yet" in content


def test_ledger_poll_brings_fresh_flow_and_headroom_figures(personas, with_data):
    content = personas.viewer.get("/systems/fraud/ledger/", headers=HTMX).content
    content = content.decode()
    assert figure(content, "chart-flow")["data"]
    assert figure(content, "chart-headroom")["data"]
    # The time series refreshes on its own schedule, not with the ledger.
    assert "chart-series" not in content


@pytest.mark.parametrize(
    ("range_key", "points", "peak"),
    [("hour", 60, None), ("day", 288, "5 min"), ("week", 336, "30 min")],
)
def test_series_range_switch_buckets_the_points(
    personas, with_data, range_key, points, peak
):
    response = personas.viewer.get(
        f"/systems/fraud/series/?range={range_key}", headers=HTMX
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="series"')
    assert f'aria-current="page">{range_key.title()}<' in content
    series = figure(content, "chart-series")
    assert len(series["data"][0]["x"]) == points
    title = series["layout"]["yaxis"]["title"]["text"]
    assert title == ("Utilization" if peak is None else "Peak utilization")
    hover = series["data"][0]["hovertemplate"]
    assert hover.endswith(f"(peak of {peak})" if peak else "%}")


def test_series_refreshes_itself_at_the_pace_of_its_range(personas, with_data):
    hour = personas.viewer.get("/systems/fraud/series/?range=hour", headers=HTMX)
    month = personas.viewer.get("/systems/fraud/series/?range=month", headers=HTMX)
    assert 'hx-trigger="every 10s"' in hour.content.decode()
    assert 'hx-trigger="every 600s"' in month.content.decode()


def test_unknown_range_falls_back_to_the_hour(personas, with_data):
    response = personas.viewer.get("/systems/fraud/?range=decade")
    assert response.status_code == 200
    assert response.context["window"].range_key == "hour"


def test_series_without_htmx_goes_to_the_page_with_that_range(personas):
    response = personas.viewer.get("/systems/fraud/series/?range=week")
    assert response.status_code == 302
    assert response.url == "/systems/fraud/?range=week"


def test_slo_status_asks_for_targets_while_no_slo_has_one(personas, with_data):
    content = personas.viewer.get("/systems/fraud/").content.decode()
    assert "chart-slos" not in content
    assert "No SLO has a target yet." in content
    assert 'href="/systems/fraud/slos/"' in content


def test_slo_status_shows_the_systems_slos_measured_from_the_ledger(
    personas, with_data
):
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    personas.system.slos.all().delete()
    Slo.objects.create(
        system=personas.system,
        dimension="time_to_decision",
        name="Decision p95",
        comparator="<=",
        target=1,
        unit="s",
        measured_from="last_stage_p95",
    )
    Slo.objects.create(
        system=personas.system, dimension="custom", name="No target", comparator="<="
    )
    # A new cycle leaves the goal as it was: the SLOs are the system's.
    cycle_open(system=personas.system, title="Now", user=owner)
    content = personas.viewer.get("/systems/fraud/").content.decode()
    bullets = figure(content, "chart-slos")
    titles = [a["text"] for a in bullets["layout"]["annotations"]]
    assert titles == ["Decision p95 · met"]
    measured = next(t for t in bullets["data"] if t["name"] == "measured")
    # The last stage's p95 of 12.5 ms, in the SLO's unit.
    assert measured["x"] == [pytest.approx(0.0125)]


def test_a_range_in_the_address_does_not_count_as_a_what_if_question(
    personas, with_data
):
    response = personas.viewer.get("/systems/fraud/?range=week")
    assert not response.context["what_if_form"].is_bound
    assert b"This field is required" not in response.content
