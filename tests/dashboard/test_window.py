"""The dashboard's time: ranges of one's own in the query string, and the way
from the ledger to each stage's page."""

from __future__ import annotations

from datetime import timedelta

from tests.dashboard.test_charts import figure
from tests.dashboard.test_dashboard import HTMX


def test_ledger_rows_link_to_their_stage_pages(personas, with_data):
    content = personas.viewer.get("/systems/fraud/").content.decode()
    for slug, name in [("ingest", "Ingest"), ("features", "Features")]:
        assert f'<a href="/systems/fraud/stages/{slug}/">{name}</a>' in content


def test_the_polled_ledger_keeps_the_links(personas, with_data):
    content = personas.viewer.get("/systems/fraud/ledger/", headers=HTMX).content
    assert b'<a href="/systems/fraud/stages/inference/">Inference</a>' in content


def test_a_click_on_a_stage_of_the_flow_opens_its_page(personas, with_data):
    content = personas.viewer.get("/systems/fraud/").content.decode()
    flow = figure(content, "chart-flow")
    assert flow["data"][0]["customdata"] == [
        "/systems/fraud/stages/ingest/",
        "/systems/fraud/stages/features/",
        "/systems/fraud/stages/inference/",
    ]


def test_a_range_of_ones_own_shows_and_stays_put(personas, with_data):
    response = personas.viewer.get("/systems/fraud/")
    end = response.context["window"].end
    since = end - timedelta(hours=2)
    query = f"from={since:%Y-%m-%dT%H:%M:%S}&to={end:%Y-%m-%dT%H:%M:%S}"
    response = personas.viewer.get(f"/systems/fraud/?{query}")
    content = response.content.decode()
    series = figure(content, "chart-series")
    assert len(series["data"][0]["x"]) == 120
    assert [v for v in series["data"][0]["y"] if v is not None] == [0.3] * 10
    # No refresh would move a window someone chose.
    section = content[content.index('<section id="series"') :]
    assert "hx-trigger" not in section[: section.index(">")]
    assert 'aria-current="page">Hour<' not in section


def test_the_series_block_refreshes_the_window_it_shows(personas, with_data):
    content = personas.viewer.get(
        "/systems/fraud/series/?range=day", headers=HTMX
    ).content.decode()
    assert 'hx-get="/systems/fraud/series/?range=day" hx-trigger="every 60s"' in content
    # A tab swaps the block in and leaves its range in the address.
    assert 'hx-replace-url="/systems/fraud/?range=week"' in content


def test_a_bad_range_on_the_dashboard_says_so_beside_the_field(personas, with_data):
    response = personas.viewer.get("/systems/fraud/?from=2026-11-01T10:00")
    content = response.content.decode()
    assert 'id="id_to_error">Give the end of the range too.</p>' in content
    assert 'value="2026-11-01T10:00"' in content
    assert response.context["window"].range_key == "hour"
    assert figure(content, "chart-series")["data"]
