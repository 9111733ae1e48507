"""Systems created at once under one slug."""

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
from toc.api.serializers import SystemSerializer
from toc.systems.forms import SystemCreateForm
from toc.systems.models import System

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_system_slug_sent_at_once_makes_one_system_and_field_errors(
    personas, monkeypatch
) -> None:
    meet_after(monkeypatch, SystemCreateForm, "full_clean", AT_ONCE)
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE)]
    body = {"team": personas.team.pk, "name": "Scoring", "slug": "scoring"}
    responses = at_once(
        [lambda tab=tab: tab.post("/systems/new/", body) for tab in tabs]
    )
    assert statuses(responses) == [200] * (AT_ONCE - 1) + [302]
    assert System.objects.filter(slug="scoring").count() == 1
    for page in (r for r in responses if r.status_code == 200):
        form = page.context["form"]
        assert "is taken by another system" in form.errors["slug"][0]
        assert form["name"].value() == "Scoring"


def test_one_system_slug_sent_at_once_to_the_api_makes_one_system(
    personas, monkeypatch
) -> None:
    meet_after(monkeypatch, SystemSerializer, "is_valid", AT_ONCE)
    api = api_client(token_of(personas, Role.EDITOR))
    body = {"team": personas.team.slug, "name": "Scoring", "slug": "scoring"}
    responses = at_once(
        [
            lambda: api.post("/api/v1/systems/", body, content_type="application/json")
            for _ in range(AT_ONCE)
        ]
    )
    assert statuses(responses) == [201] + [400] * (AT_ONCE - 1)
    assert all(field_errors(r) == {"slug"} for r in responses if r.status_code == 400)
    assert System.objects.filter(slug="scoring").count() == 1
