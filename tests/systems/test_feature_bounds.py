"""A feature's importance and compute cost: one range each, held alike by the
problem page's feature list, the API, the schema and the database. A cost is
above zero, so that a feature's value (importance / cost) is finite."""

from __future__ import annotations

import math

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from tests.api.clients import send, token_client
from tests.cycles.conftest import BASE
from tests.schema import served_schema
from toc.accounts.models import Role
from toc.systems.models import Feature

API = "/api/v1/systems/fraud/stages/features/features/"
NUMBER = "Use a number between 0 and 1,000,000,000,000."
COST = "Use a cost between 0.000001 and 1,000,000,000,000."
# (field, lowest, highest, message)
BOUNDS = [
    ("importance", 0, 1e12, NUMBER),
    ("compute_cost", 0.000001, 1e12, COST),
]
VALID = {"name": "dst_port", "importance": 0.5, "compute_cost": 2}


def _past(low: float, high: float) -> list[float]:
    return [math.nextafter(low, -math.inf), math.nextafter(high, math.inf), 1e308]


@pytest.fixture
def on_features(cycle):
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    return cycle


def _page_add(client: Client, field: str, value: float):
    data = {f"new-features-{name}": str(v) for name, v in VALID.items()}
    data[f"new-features-{field}"] = repr(value)
    data["new-features-name"] = f"{field}-{value!r}"
    return client.post(f"{BASE}/features/add/", data, headers={"HX-Request": "true"})


@pytest.mark.parametrize(("field", "low", "high", "message"), BOUNDS)
def test_the_problem_page_holds_a_features_range(
    personas, on_features, field, low, high, message
):
    for value in _past(low, high):
        response = _page_add(personas.teammate, field, value)
        assert response.context["add_form"].errors == {field: [message]}, value
    assert not Feature.objects.exists()
    for value in (low, high):
        assert _page_add(personas.teammate, field, value).status_code == 200
    assert sorted(Feature.objects.values_list(field, flat=True)) == [low, high]


@pytest.mark.parametrize(("field", "low", "high", "message"), BOUNDS)
def test_the_api_holds_a_features_range(personas, field, low, high, message):
    editor = token_client(personas, Role.EDITOR)
    for value in _past(low, high):
        response = send(editor, "post", API, {**VALID, field: value})
        assert response.json()["errors"] == [{"field": field, "message": message}]
    assert not Feature.objects.exists()
    for value in (low, high):
        body = {**VALID, "name": f"at {value}", field: value}
        response = send(editor, "post", API, body)
        assert response.status_code == 201, response.json()
        assert response.json()[field] == value


def test_a_free_feature_is_refused_rather_than_worth_infinity(personas):
    editor = token_client(personas, Role.EDITOR)
    response = send(editor, "post", API, {**VALID, "compute_cost": 0})
    assert response.json()["errors"] == [{"field": "compute_cost", "message": COST}]


def test_the_schema_states_a_features_ranges(db):
    schema = served_schema()
    components = schema["components"]["schemas"]
    for component in ("FeatureRequest", "PatchedFeatureRequest"):
        properties = components[component]["properties"]
        for field, low, high, _ in BOUNDS:
            bounds = (properties[field]["minimum"], properties[field]["maximum"])
            assert bounds == (low, high), (component, field)


@pytest.mark.parametrize(("field", "low", "high", "message"), BOUNDS)
def test_the_database_holds_a_features_range(personas, field, low, high, message):
    stage = personas.system.stages.get(slug="features")
    feature = Feature.objects.create(stage=stage, **VALID)
    for value, stored in [*((v, False) for v in _past(low, high)), (low, True)]:
        try:
            with transaction.atomic():
                Feature.objects.filter(pk=feature.pk).update(**{field: value})
            taken = True
        except IntegrityError:
            taken = False
        assert taken is stored, value
