from __future__ import annotations

import pytest

from tests.api.clients import api_clients, send


@pytest.fixture
def api(personas):
    return api_clients(personas)


LINES = [
    {"stage": "Ingest", "capacity": 1000, "load": 600},
    {"stage": "Features", "capacity": 300, "load": 290, "queue_trend": 5},
    {"stage": "Inference", "capacity": 800, "load": 400},
]


def test_what_if_on_lines_moves_the_constraint(api):
    response = send(
        api.viewer,
        "post",
        "/api/v1/tools/what-if/",
        {"stages": LINES, "stage": "Features", "factor": 3},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["before"]["stage"] == "Features"
    assert body["after"]["stage"] != "Features"
    assert body["after"]["ceiling"] > body["before"]["ceiling"]
    features = next(line for line in body["stages"] if line["stage"] == "Features")
    assert features["capacity"] == 900


def test_what_if_on_a_systems_ledger_checks_the_team(api, personas):
    body = {"system": "fraud", "stage": "Features", "factor": 2}
    assert send(api.viewer, "post", "/api/v1/tools/what-if/", body).status_code == 200
    assert send(api.outsider, "post", "/api/v1/tools/what-if/", body).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "Features", "factor": 2}, None),
        ({"stages": LINES, "stage": "Nope", "factor": 2}, None),
        ({"stages": LINES, "stage": "Features", "factor": 0}, "factor"),
        (
            {
                "stages": [{"stage": "A", "capacity": -1, "load": 1}],
                "stage": "A",
                "factor": 2,
            },
            "stages[0].capacity",
        ),
    ],
)
def test_what_if_rejects_bad_input_with_the_field(api, body, field):
    response = send(api.viewer, "post", "/api/v1/tools/what-if/", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_littles_law_gives_the_sustainable_alert_rate(api):
    body = {"alerts_per_day": 847, "minutes_per_investigation": 20, "analysts": 3}
    response = send(api.viewer, "post", "/api/v1/tools/littles-law/", body)
    assert response.status_code == 200
    result = response.json()
    # 3 people × 480 minutes ÷ 20 minutes each.
    assert result["sustainable_alerts_per_day"] == pytest.approx(72)
    assert result["holds"] is False
    assert result["utilization"] == pytest.approx(847 * 20 / 480 / 3)


def test_littles_law_with_nobody_reports_unbounded_utilization_as_null(api):
    body = {"alerts_per_day": 10, "minutes_per_investigation": 20, "analysts": 0}
    result = send(api.viewer, "post", "/api/v1/tools/littles-law/", body).json()
    assert result["utilization"] is None
    assert result["holds"] is False


def test_cascade_plans_each_tier(api):
    body = {
        "input_rate": 100_000,
        "target_utilization": 0.5,
        "tiers": [
            {"name": "cheap", "exit_share": 0.68, "cost_ms": 3},
            {"name": "deep", "exit_share": 1, "cost_ms": 100},
        ],
    }
    response = send(api.viewer, "post", "/api/v1/tools/cascade/", body)
    assert response.status_code == 200
    tiers = response.json()["tiers"]
    assert tiers[1]["load"] == pytest.approx(32_000)
    assert tiers[1]["required_capacity"] == pytest.approx(64_000)
    assert response.json()["mean_latency_ms"] == pytest.approx(3 + 0.32 * 100)


def test_cascade_refuses_repeated_tier_names(api):
    body = {
        "input_rate": 1,
        "tiers": [
            {"name": "a", "exit_share": 0.5, "cost_ms": 1},
            {"name": "a", "exit_share": 1, "cost_ms": 1},
        ],
    }
    response = send(api.viewer, "post", "/api/v1/tools/cascade/", body)
    assert response.status_code == 400
    assert "tier names" in response.json()["errors"][0]["message"]


def test_tools_need_a_person(api, personas):
    assert api.anonymous.post("/api/v1/tools/cascade/").status_code == 401
