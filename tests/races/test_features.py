"""A stage's features registered at once under one name."""

from __future__ import annotations

import pytest

from tests.api.clients import token_of
from tests.races.conftest import (
    AT_ONCE,
    api_client,
    at_once,
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
