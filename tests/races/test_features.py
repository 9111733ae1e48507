"""A stage's features registered at once under one name, through the API and
through the list on a cycle's page."""

from __future__ import annotations

import pytest

from tests.api.clients import token_of
from tests.races.conftest import (
    AT_ONCE,
    api_client,
    at_once,
    browser_of,
    field_errors,
    meet_after,
    statuses,
)
from toc.accounts.models import Role
from toc.systems.forms import FeatureForm
from toc.systems.models import Feature

pytestmark = pytest.mark.django_db(transaction=True)

FEATURES = "/api/v1/systems/fraud/stages/features/features/"


def test_one_feature_name_sent_at_once_makes_one_feature_and_field_errors(
    personas, monkeypatch
) -> None:
    meet_after(monkeypatch, FeatureForm, "full_clean", AT_ONCE)
    api = api_client(token_of(personas, Role.EDITOR))
    body = {"name": "merchant_risk", "importance": 0.4, "compute_cost": 2}
    responses = at_once(
        [
            lambda: api.post(FEATURES, body, content_type="application/json")
            for _ in range(AT_ONCE)
        ]
    )
    assert statuses(responses) == [201] + [400] * (AT_ONCE - 1)
    assert all(field_errors(r) == {"name"} for r in responses if r.status_code == 400)
    assert Feature.objects.filter(name="merchant_risk").count() == 1


def test_one_feature_name_added_at_once_in_a_cycles_list_makes_one_feature(
    personas, cycle, monkeypatch
) -> None:
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    meet_after(monkeypatch, FeatureForm, "full_clean", AT_ONCE)
    body = {
        "new-features-name": "merchant_risk",
        "new-features-importance": "0.4",
        "new-features-compute_cost": "2",
    }
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE)]
    responses = at_once(
        [
            lambda tab=tab: tab.post("/systems/fraud/cycles/1/features/add/", body)
            for tab in tabs
        ]
    )
    assert statuses(responses) == [200] * (AT_ONCE - 1) + [302]
    for page in (r for r in responses if r.status_code == 200):
        assert "already has a feature" in page.context["form"].errors["name"][0]
    assert Feature.objects.filter(name="merchant_risk").count() == 1
