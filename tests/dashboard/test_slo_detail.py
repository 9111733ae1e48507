"""A page per SLO, and a live SLO's compliance and error budget where the
system's SLOs are shown: the SLO list, the dashboard's SLO panel and an open
cycle's goal."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from toc.metrics.models import SloBudget
from toc.systems.models import Slo

LIST = "/systems/fraud/slos/"


def _page(slo: Slo) -> str:
    return f"/systems/fraud/slos/{slo.pk}/"


@pytest.fixture
def live(personas) -> Slo:
    """Time to decision bound to the last stage's p95 under 300 ms, 99% of
    minutes."""
    slo = Slo.objects.get(system__slug="fraud", name="Time to decision (p95)")
    slo.indicator, slo.stage, slo.field = "threshold", "inference", "latency_p95_ms"
    slo.comparator, slo.threshold, slo.objective = "<=", 300, 0.99
    slo.save()
    return slo


def _figures(slo: Slo, **fields) -> SloBudget:
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    hours = [end - timedelta(hours=n) for n in (2, 1, 0)]
    values = {
        "computed_at": end,
        "window_start": end - timedelta(days=28),
        "window_end": end,
        "good": 9_938,
        "total": 10_000,
        "compliance": 0.9938,
        "budget_remaining": 0.38,
        "burn_rates": {"5m": 20.0, "30m": 7.5, "1h": 16.0, "2h": None, "6h": 6.2},
        "alert": "page",
        "alert_since": end - timedelta(minutes=20),
        "series": {
            "t": [hour.isoformat() for hour in hours],
            "budget_remaining": [0.5, 0.45, 0.38],
            "burn_rate_1h": [0.8, 2.0, 16.0],
        },
    }
    values.update(fields)
    return SloBudget.objects.create(slo=slo, **values)


def _figure(content: str, chart: str) -> dict:
    found = re.search(
        rf'id="{chart}-figure" type="application/json">(.*?)</script>', content
    )
    assert found, chart
    return json.loads(found.group(1))


def test_a_live_slo_shows_its_budget_burn_rates_alert_and_charts(personas, live):
    _figures(live)

    content = personas.viewer.get(_page(live)).content.decode()

    assert (
        "Each minute of Inference is good when its <code>latency_p95_ms</code> is ≤ 300"
        in content
    )
    assert "99% of minutes good" in content
    assert "Rolling 28 days" in content
    assert "Timeslices: good minutes over minutes with data" in content
    assert "99.38% against an objective of 99%" in content
    assert "38% of the error budget left" in content
    assert "Paging since" in content
    burn = content[content.index("<h3>Burn rates</h3>") :]
    assert re.search(r"1 h</th><td class=\"num\">16×", burn)
    assert re.search(r"2 h</th><td class=\"num\">—", burn)  # no data over it
    assert "a page at 14.4× over 1 h and 5 min" in burn
    budget = _figure(content, "chart-budget")
    assert budget["data"][0]["y"] == [0.5, 0.45, 0.38]
    assert _figure(content, "chart-burn")["data"][0]["y"] == [0.8, 2.0, 16.0]
    # A viewer reads; editing is an editor's.
    assert f"/slos/{live.pk}/edit/" not in content


def test_an_overspent_budget_reads_as_spent(personas, live):
    _figures(live, compliance=0.988, budget_remaining=-0.2, alert="")
    content = personas.teammate.get(_page(live)).content.decode()
    assert "error budget spent, 120% used" in content
    assert "None: the budget is not burning fast." in content
    assert f"/slos/{live.pk}/edit/" in content


def test_a_live_slo_before_the_worker_read_it_says_no_data_yet(personas, live):
    content = personas.viewer.get(_page(live)).content.decode()
    assert "No data yet." in content
    assert "The worker has not read this SLO yet" in content
    assert "chart-budget" not in content


def test_a_window_without_data_says_no_data_yet(personas, live):
    _figures(live, good=0, total=0, compliance=None, budget_remaining=None, series={})
    content = personas.viewer.get(_page(live)).content.decode()
    assert "No data yet." in content
    assert "The window has no minutes with data from Inference so far" in content
    assert "chart-budget" not in content


def test_an_slo_not_bound_says_how_to_bind_it(personas):
    slo = Slo.objects.get(system__slug="fraud", name="Data loss")
    content = personas.teammate.get(_page(slo)).content.decode()
    assert "This SLO is not bound to a metric yet." in content
    assert f'href="/systems/fraud/slos/{slo.pk}/edit/">edit it</a>' in content
    assert "/api/v1/systems/fraud/slos/openslo/" in content
    assert "Error budget" in content and "chart-burn" not in content


def test_an_slo_with_an_objective_but_no_indicator_is_not_live(personas):
    slo = Slo.objects.get(system__slug="fraud", name="Data loss")
    slo.objective = 0.999
    slo.save()
    content = personas.viewer.get(_page(slo)).content.decode()
    assert "99.9% of minutes good" in content
    assert "This SLO is not bound to a metric yet." in content


def test_another_teams_slo_is_not_found(personas, live):
    assert personas.outsider.get(_page(live)).status_code == 404
    # Nor through the outsider's own system's address.
    assert personas.outsider.get(f"/systems/other/slos/{live.pk}/").status_code == 404
    assert personas.viewer.get("/systems/fraud/slos/999999/").status_code == 404


def test_the_page_asks_to_sign_in(client, personas, live):
    response = client.get(_page(live))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_slo_list_links_each_slo_and_gives_a_live_ones_budget(personas, live):
    _figures(live)
    content = personas.viewer.get(LIST).content.decode()
    for slo in Slo.objects.filter(system__slug="fraud"):
        assert f'href="/systems/fraud/slos/{slo.pk}/">{slo.name}</a>' in content
    row = content[content.index(f'id="slo-{live.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "99.38% against an objective of 99%" in row
    assert "38% of the error budget left" in row
    assert "burning fast: paging" in row


def test_the_dashboard_panel_shows_compliance_against_the_objective(
    personas, live, with_data
):
    _figures(live, compliance=0.985, budget_remaining=-0.5)
    content = personas.viewer.get("/systems/fraud/").content.decode()
    panel = _figure(content, "chart-slos")
    labels = [a["text"] for a in panel["layout"]["annotations"] if a["xref"] == "paper"]
    assert labels == ["Time to decision (p95) · budget spent, 150% used"]
    assert panel["layout"]["annotations"][0]["font"]["color"] == "#b42318"  # violated
    measured = next(trace for trace in panel["data"] if trace["name"] == "measured")
    assert measured["x"] == [98.5]
    target = next(trace for trace in panel["data"] if trace["name"] == "target")
    assert target["x"] == [99.0]


def test_the_goal_of_an_open_cycle_gives_live_budgets(personas, live, cycle):
    _figures(live)
    content = personas.viewer.get("/systems/fraud/cycles/1/goal/").content.decode()
    assert "99.38% against an objective of 99%" in content
    assert "38% of the error budget left" in content


def _details(content: str) -> str:
    start = content.index('<details class="helper slo-live-fields"')
    return content[start : content.index("</details>", start)]


def test_the_add_form_folds_the_live_fields_under_their_own_summary(personas):
    content = personas.teammate.get(LIST).content.decode()
    folded = _details(content)
    assert "<summary>Measure it live (optional)</summary>" in folded
    assert 'name="new-objective"' in folded and 'name="new-indicator"' in folded
    assert 'name="new-name"' not in folded and 'name="new-target"' not in folded
    assert folded.startswith('<details class="helper slo-live-fields">')  # closed


def test_a_wrong_live_field_opens_the_fold_with_its_error_beside_it(personas):
    body = {
        "new-name": "Recall",
        "new-dimension": "custom",
        "new-comparator": ">=",
        "new-measured_from": "typed",
        "new-objective": "99",
    }
    response = personas.teammate.post(
        f"{LIST}add/", body, headers={"HX-Request": "true"}
    )
    folded = _details(response.content.decode())
    assert folded.startswith('<details class="helper slo-live-fields" open>')
    field = folded[folded.index('name="new-objective"') :]
    assert "Enter a share between 0 and 1" in field[: field.index("</div>")]


def test_a_bound_slo_edits_with_its_live_fields_open(personas, live):
    response = personas.teammate.get(
        f"/systems/fraud/slos/{live.pk}/edit/", headers={"HX-Request": "true"}
    )
    assert response.context["fields"].open
    assert [f.name for f in response.context["fields"].basics][-1] == "measured_from"


def test_an_admin_finds_the_ingest_keys_tab_on_the_slo_page(personas, live):
    keys = 'href="/systems/fraud/keys/"'
    assert keys in personas.owner.get(_page(live)).content.decode()
    assert keys not in personas.teammate.get(_page(live)).content.decode()


def test_a_new_slo_is_bound_only_to_a_stage_of_its_system(personas):
    body = {
        "new-name": "Fresh scores",
        "new-dimension": "custom",
        "new-comparator": "<=",
        "new-measured_from": "typed",
        "new-indicator": "threshold",
        "new-field": "latency_p95_ms",
        "new-threshold": "250",
        "new-objective": "0.99",
    }
    refused = personas.teammate.post(f"{LIST}add/", {**body, "new-stage": "nowhere"})
    assert "Fraud scoring has no stage “nowhere”." in refused.content.decode()
    assert not Slo.objects.filter(name="Fresh scores").exists()

    personas.teammate.post(f"{LIST}add/", {**body, "new-stage": "inference"})
    slo = Slo.objects.get(name="Fresh scores")
    assert (slo.indicator, slo.stage, slo.objective) == ("threshold", "inference", 0.99)
    assert slo.is_live


def test_an_unbound_slo_names_the_source_toc_cannot_read(personas):
    slo = Slo.objects.get(system__slug="fraud", name="Data loss")
    slo.indicator, slo.objective = "unbound", 0.999
    slo.source = {"type": "Datadog", "spec": {"query": "sum:loss{*}"}}
    slo.save()
    content = personas.viewer.get(_page(slo)).content.decode()
    assert (
        "A source toc cannot read (<code>Datadog</code>), kept as imported." in content
    )
    assert "Its source is one toc cannot read." in content
    assert "an editor edits it" in content  # a viewer is not offered the form
