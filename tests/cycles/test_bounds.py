"""One range per number a cycle stores, held alike by the step pages, the API,
the schema and the database: each door refuses a value just past either end
with the same message, naming the range, on the field, and takes both ends."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.api.clients import send, token_client
from tests.api.cycles.bodies import VALID_ROWS as API_ROWS
from tests.cycles.conftest import BASE
from tests.cycles.test_rows import VALID_ROWS as PAGE_ROWS
from tests.schema import served_schema
from toc.accounts.models import Role
from toc.cycles.models import (
    Criterion,
    OutcomeRow,
    Problem,
    RolloutPhase,
    Tier,
    ValidationExperiment,
)

API = "/api/v1/systems/fraud/cycles/1"
NUMBER = "Use a number between 0 and 1,000,000,000,000."
SIGNED = "Use a number between -1,000,000,000,000 and 1,000,000,000,000."
SHARE = "Use a share between 0 and 1."
HOURS = "Use a number of hours between 0 and 8,784 (a year)."
FACTOR = "Use a factor between 0.01 and 1,000 (3 triples the capacity)."
PERCENT = "Use a percentage between 0 and 100."

# (list, model, field, lowest, highest, message)
ROW_BOUNDS = [
    ("tiers", Tier, "traffic_share", 0, 1, SHARE),
    ("tiers", Tier, "exit_share", 0, 1, SHARE),
    ("tiers", Tier, "latency_ms", 0, 1e12, NUMBER),
    ("criteria", Criterion, "threshold", -1e12, 1e12, SIGNED),
    ("criteria", Criterion, "result", -1e12, 1e12, SIGNED),
    ("phases", RolloutPhase, "traffic_share", 0, 1, SHARE),
    ("phases", RolloutPhase, "hold_hours", 0, 8784, HOURS),
    ("outcome-rows", OutcomeRow, "before", -1e12, 1e12, SIGNED),
    ("outcome-rows", OutcomeRow, "after", -1e12, 1e12, SIGNED),
]
IDS = [f"{key}.{field}" for key, _, field, *_ in ROW_BOUNDS]


def _past(low: float, high: float) -> list[float]:
    """The nearest numbers outside the range, and a far one (1e308)."""
    return [math.nextafter(low, -math.inf), math.nextafter(high, math.inf), 1e308]


@pytest.fixture
def editor(personas) -> Client:
    return token_client(personas, Role.EDITOR)


def _page_add(client: Client, key: str, field: str, value: float):
    data = {f"new-{key}-{name}": v for name, v in PAGE_ROWS[key].items()}
    data[f"new-{key}-{field}"] = repr(value)
    return client.post(f"{BASE}/{key}/add/", data, headers={"HX-Request": "true"})


def _added(model, before: set[int]) -> list:
    return list(model.objects.exclude(pk__in=before).order_by("id"))


BOUND = pytest.mark.parametrize(
    ("key", "model", "field", "low", "high", "message"), ROW_BOUNDS, ids=IDS
)


@BOUND
def test_the_page_refuses_a_row_past_either_end(
    personas, cycle, key, model, field, low, high, message
):
    before = set(model.objects.values_list("pk", flat=True))
    for value in _past(low, high):
        response = _page_add(personas.teammate, key, field, value)
        assert response.context["add_form"].errors == {field: [message]}, value
        assert f'value="{value!r}"' in response.content.decode()  # kept as typed
    assert _added(model, before) == []


@BOUND
def test_the_page_takes_a_row_at_either_end(
    personas, cycle, key, model, field, low, high, message
):
    before = set(model.objects.values_list("pk", flat=True))
    for value in (low, high):
        assert _page_add(personas.teammate, key, field, value).status_code == 200
    assert [getattr(row, field) for row in _added(model, before)] == [low, high]


@BOUND
def test_the_api_refuses_a_row_past_either_end(
    personas, cycle, editor, key, model, field, low, high, message
):
    before = set(model.objects.values_list("pk", flat=True))
    for value in _past(low, high):
        body = {**API_ROWS[key], field: value}
        response = send(editor, "post", f"{API}/{key}/", body)
        assert response.status_code == 400, value
        assert response.json()["errors"] == [{"field": field, "message": message}]
    assert _added(model, before) == []


@BOUND
def test_the_api_takes_a_row_at_either_end_and_keeps_it_there(
    personas, cycle, editor, key, model, field, low, high, message
):
    lowest, highest, _ = _past(low, high)
    for value, beyond in [(low, lowest), (high, highest)]:
        body = {**API_ROWS[key], field: value}
        response = send(editor, "post", f"{API}/{key}/", body)
        assert response.status_code == 201, response.json()
        assert response.json()[field] == value
        row = f"{API}/{key}/{response.json()['id']}/"
        response = send(editor, "patch", row, {field: beyond})
        assert response.json()["errors"] == [{"field": field, "message": message}]
        assert send(editor, "get", row).json()[field] == value


def _schema() -> dict:
    return served_schema()


def _request_body(schema: dict, path: str, method: str) -> dict:
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    name = ref["schema"]["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]["properties"]


def test_the_schema_states_each_rows_range(db):
    schema = _schema()
    cycle = "/api/v1/systems/{slug}/cycles/{number}"
    for key, _, field, low, high, _ in ROW_BOUNDS:
        for path, method in [
            (f"{cycle}/{key}/", "post"),
            (f"{cycle}/{key}/{{pk}}/", "put"),
            (f"{cycle}/{key}/{{pk}}/", "patch"),
        ]:
            prop = _request_body(schema, path, method)[field]
            assert (prop["minimum"], prop["maximum"]) == (low, high), (path, field)


# The records' numbers: the validation's factor, the problem's share in percent.

VALIDATION_PAGE = {
    "form": "validation",
    "validation-stage": "features",
    "validation-started": "2026-11-01T10:00",
    "validation-ended": "2026-11-02T10:00",
}
VALIDATION_API = {
    "stage": "features",
    "started": "2026-11-01T10:00:00Z",
    "ended": "2026-11-02T10:00:00Z",
}


def test_the_validation_factor_is_refused_past_either_end_by_page_and_api(
    personas, cycle, editor
):
    for value in [*_past(0.01, 1000), 0]:
        page = personas.teammate.post(
            f"{BASE}/goal/",
            {**VALIDATION_PAGE, "validation-capacity_factor": repr(value)},
        )
        errors = page.context["forms"]["validation"].errors
        assert errors == {"capacity_factor": [FACTOR]}, value
        body = {**VALIDATION_API, "capacity_factor": value}
        api = send(editor, "put", f"{API}/validation/", body)
        assert api.json()["errors"] == [{"field": "capacity_factor", "message": FACTOR}]
    assert not ValidationExperiment.objects.exists()


def test_the_validation_factor_is_taken_at_either_end(personas, cycle, editor):
    page = personas.teammate.post(
        f"{BASE}/goal/", {**VALIDATION_PAGE, "validation-capacity_factor": "0.01"}
    )
    assert page.status_code == 302
    assert ValidationExperiment.objects.get().capacity_factor == 0.01
    body = {**VALIDATION_API, "capacity_factor": 1000}
    assert send(editor, "put", f"{API}/validation/", body).status_code == 200
    assert ValidationExperiment.objects.get().capacity_factor == 1000


def test_the_problems_share_is_a_percentage_from_0_to_100(personas, cycle, editor):
    page = personas.teammate.get(f"{BASE}/problem/")
    assert "Share of the gap it explains (0–100 %)" in page.content.decode()
    for value in _past(0, 100):
        page = personas.teammate.post(
            f"{BASE}/problem/", {"form": "problem", "problem-gap_percent": repr(value)}
        )
        assert page.context["forms"]["problem"].errors == {"gap_percent": [PERCENT]}
        api = send(editor, "patch", f"{API}/problem/", {"gap_percent": value})
        assert api.json()["errors"] == [{"field": "gap_percent", "message": PERCENT}]
    for percent, share in [(0, 0), (100, 1)]:
        page = personas.teammate.post(
            f"{BASE}/problem/", {"form": "problem", "problem-gap_percent": str(percent)}
        )
        assert page.status_code == 302
        assert Problem.objects.get().gap_share == share
        api = send(editor, "patch", f"{API}/problem/", {"gap_percent": percent})
        assert api.json()["gap_percent"] == percent


def test_the_schema_states_the_records_ranges(db):
    schema = _schema()
    cycle = "/api/v1/systems/{slug}/cycles/{number}"
    for path, field, low, high in [
        (f"{cycle}/validation/", "capacity_factor", 0.01, 1000),
        (f"{cycle}/problem/", "gap_percent", 0, 100),
    ]:
        for method in ("put", "patch"):
            prop = _request_body(schema, path, method)[field]
            assert (prop["minimum"], prop["maximum"]) == (low, high), (path, method)


# The database holds each range too, and refuses exactly what the field's
# validators refuse (which the forms, the API and the schema read).

COLUMNS = [
    *((model, field) for _, model, field, *_ in ROW_BOUNDS),
    (ValidationExperiment, "capacity_factor"),
    (Problem, "gap_share"),
]


@pytest.mark.parametrize(
    ("model", "field"),
    COLUMNS,
    ids=[f"{model.__name__}.{field}" for model, field in COLUMNS],
)
def test_the_database_refuses_what_the_validators_refuse(personas, cycle, model, field):
    row = _row_of(model, cycle)
    column = model._meta.get_field(field)
    limits = [validator.limit_value for validator in column.validators]
    edges = [
        near for limit in limits for near in (*_past(limit, limit)[:2], float(limit))
    ]

    @settings(max_examples=60, deadline=None)
    @given(
        st.one_of(
            st.sampled_from(edges), st.floats(allow_nan=False, allow_infinity=False)
        )
    )
    @example(-0.0)
    @example(1e308)
    def agree(value: float) -> None:
        try:
            column.run_validators(value)
            valid = True
        except ValidationError:
            valid = False
        try:
            with transaction.atomic():
                model.objects.filter(pk=row.pk).update(**{field: value})
                stored = True
        except IntegrityError:
            stored = False
        assert valid == stored, value

    agree()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: 1e308})


def _row_of(model, cycle):
    if model is ValidationExperiment:
        started = timezone.now()
        return ValidationExperiment.objects.create(
            cycle=cycle,
            stage="features",
            capacity_factor=2,
            started=started,
            ended=started + timedelta(hours=1),
        )
    if model is Problem:
        return cycle.problem
    if model is RolloutPhase:
        return cycle.rollout.phases.first()
    if model is Tier:
        return Tier.objects.create(
            innovation=cycle.innovation,
            position=0,
            name="t",
            traffic_share=1,
            latency_ms=1,
        )
    if model is Criterion:
        return Criterion.objects.create(
            experiment=cycle.experiment, metric="m", comparator="<=", threshold=1
        )
    return OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="m", before=1, after=2
    )
