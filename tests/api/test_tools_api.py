from __future__ import annotations

import math
from typing import NamedTuple

import pytest

from tests.api.clients import api_clients, send
from tests.schema import served_schema
from toc.api.tools import MAX_ROWS


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


# Bounds: each calculator's numbers take one range, in the API and on the page
# that has the same calculator, and its lists at most MAX_ROWS rows.

NUMBER = "Use a number between 0 and 1,000,000,000,000."
FACTOR = "Use a factor between 0.01 and 1,000 (3 triples the capacity)."
GOAL = "/systems/fraud/cycles/1/goal/"
INNOVATION = "/systems/fraud/cycles/1/innovation/"
BUDGET = {"alerts_per_day": 100, "minutes_per_investigation": 20, "analysts": 3}
CASCADE = {"input_rate": 100, "tiers": [{"name": "t", "exit_share": 0.5, "cost_ms": 1}]}
WHAT_IF = {"stages": LINES, "stage": "Features", "factor": 2}


class Asked(NamedTuple):
    """A calculator's number: its API field and body, its page and form there."""

    tool: str
    body: dict
    field: str
    page: str
    form: str
    page_field: str
    low: float
    high: float
    message: str


WHAT_IF_PAGE = ("/systems/fraud/", "what_if_form")
CALCULATOR_FIELDS = [
    Asked("what-if", WHAT_IF, "factor", *WHAT_IF_PAGE, "factor", 0.01, 1000, FACTOR),
    Asked(
        "littles-law",
        BUDGET,
        "alerts_per_day",
        GOAL,
        "budget_form",
        "alerts_per_day",
        0,
        1e12,
        NUMBER,
    ),
    Asked(
        "littles-law",
        BUDGET,
        "minutes_per_investigation",
        GOAL,
        "budget_form",
        "minutes_per_investigation",
        0.01,
        10080,
        "Use minutes between 0.01 and 10,080.",
    ),
    Asked(
        "littles-law",
        BUDGET,
        "analysts",
        GOAL,
        "budget_form",
        "analysts",
        0,
        100_000,
        "Use a number of people between 0 and 100,000 (part-time people count "
        "as fractions).",
    ),
    Asked(
        "littles-law",
        BUDGET,
        "hours_per_analyst_per_day",
        GOAL,
        "budget_form",
        "hours_per_analyst",
        0.5,
        24,
        "Use hours between 0.5 and 24.",
    ),
    Asked(
        "cascade",
        CASCADE,
        "input_rate",
        INNOVATION,
        "cascade_form",
        "input_rate",
        0,
        1e12,
        NUMBER,
    ),
    Asked(
        "cascade",
        CASCADE,
        "target_utilization",
        INNOVATION,
        "cascade_form",
        "target_utilization",
        0.05,
        1,
        "Use a share between 0.05 and 1 (0.7 leaves 30% spare).",
    ),
]


def _past(low: float, high: float) -> list[float]:
    """The nearest numbers outside the range, and a far one."""
    return [math.nextafter(low, -math.inf), math.nextafter(high, math.inf), 1e308]


def _page_form(client, asked: Asked, value: float):
    """The page's calculator asked with the field at `value`, the rest as the
    API's body has it."""
    params = {"stage": "Features", "hours_per_analyst": 8, "target_utilization": 0.7}
    params.update({k: v for k, v in asked.body.items() if not isinstance(v, list)})
    params[asked.page_field] = repr(value)
    return client.get(asked.page, params).context[asked.form]


@pytest.mark.parametrize(
    "asked", CALCULATOR_FIELDS, ids=[f"{a.tool}.{a.field}" for a in CALCULATOR_FIELDS]
)
def test_a_calculators_number_has_one_range_in_the_api_and_on_the_page(
    api, personas, cycle, asked
):
    url = f"/api/v1/tools/{asked.tool}/"
    for value in _past(asked.low, asked.high):
        response = send(api.viewer, "post", url, {**asked.body, asked.field: value})
        error = {"field": asked.field, "message": asked.message}
        assert response.json()["errors"] == [error]
        form = _page_form(personas.viewer, asked, value)
        assert form.errors[asked.page_field] == [asked.message], value
    for value in (asked.low, asked.high):
        response = send(api.viewer, "post", url, {**asked.body, asked.field: value})
        assert response.status_code == 200, (value, response.json())
        form = _page_form(personas.viewer, asked, value)
        assert asked.page_field not in form.errors, value


@pytest.mark.parametrize(
    ("line", "field", "low", "high", "message"),
    [
        ("stages", "capacity", 0, 1e12, NUMBER),
        ("stages", "load", 0, 1e12, NUMBER),
        ("stages", "utilization", 0, 1e12, NUMBER),
        ("stages", "blocked", 0, 1, "Use a share between 0 and 1."),
        (
            "stages",
            "queue_trend",
            -1e12,
            1e12,
            "Use a number between -1,000,000,000,000 and 1,000,000,000,000.",
        ),
        ("tiers", "exit_share", 0, 1, "Use a share between 0 and 1."),
        ("tiers", "cost_ms", 0, 1e12, NUMBER),
    ],
)
def test_a_lines_number_is_refused_past_its_range_naming_the_line(
    api, line, field, low, high, message
):
    tool, body = ("what-if", WHAT_IF) if line == "stages" else ("cascade", CASCADE)
    url = f"/api/v1/tools/{tool}/"
    for value in _past(low, high):
        lines = [dict(row) for row in body[line]]
        lines[-1][field] = value
        response = send(api.viewer, "post", url, {**body, line: lines})
        where = f"{line}[{len(lines) - 1}].{field}"
        assert response.json()["errors"] == [{"field": where, "message": message}]
    for value in (low, high):
        lines = [{**row, field: value} for row in body[line]]
        response = send(api.viewer, "post", url, {**body, line: lines})
        assert response.status_code == 200, (value, response.json())


def _many(line: str, count: int) -> list[dict]:
    if line == "stages":
        return [{"stage": f"s{n}", "capacity": 10, "load": 5} for n in range(count)]
    return [{"name": f"t{n}", "exit_share": 0.5, "cost_ms": 1} for n in range(count)]


@pytest.mark.parametrize(
    ("tool", "body", "line"),
    [
        ("what-if", {"stage": "s0", "factor": 2}, "stages"),
        ("cascade", CASCADE, "tiers"),
    ],
)
def test_a_calculator_takes_at_most_200_rows(api, tool, body, line):
    url = f"/api/v1/tools/{tool}/"
    response = send(api.viewer, "post", url, {**body, line: _many(line, MAX_ROWS)})
    assert response.status_code == 200, response.json()
    for count in (MAX_ROWS + 1, 400):
        response = send(api.viewer, "post", url, {**body, line: _many(line, count)})
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {
                "field": line,
                "message": f"Send at most 200 {line}; a calculation takes no more.",
            }
        ]


def test_a_cascade_needs_a_tier(api):
    body = {**CASCADE, "tiers": []}
    response = send(api.viewer, "post", "/api/v1/tools/cascade/", body)
    assert response.json()["errors"] == [
        {"field": "tiers", "message": "This list may not be empty."}
    ]


def test_the_schema_states_each_calculators_ranges(db):
    schema = served_schema()
    components = schema["components"]["schemas"]
    requests = {
        "what-if": "WhatIfRequest",
        "littles-law": "LittlesLawRequest",
        "cascade": "CascadeRequest",
    }
    for asked in CALCULATOR_FIELDS:
        prop = components[requests[asked.tool]]["properties"][asked.field]
        assert (prop["minimum"], prop["maximum"]) == (asked.low, asked.high), asked
    stages = components["WhatIfRequest"]["properties"]["stages"]
    assert stages["maxItems"] == MAX_ROWS
    assert "minItems" not in stages  # or a system's ledger instead
    tiers = components["CascadeRequest"]["properties"]["tiers"]
    assert (tiers["minItems"], tiers["maxItems"]) == (1, MAX_ROWS)
    line = components["StageLineRequest"]["properties"]
    assert (line["blocked"]["minimum"], line["blocked"]["maximum"]) == (0, 1)
    tier = components["CascadeTierRequest"]["properties"]
    assert (tier["cost_ms"]["minimum"], tier["cost_ms"]["maximum"]) == (0, 1e12)
