"""Systems created at once under one slug."""

from __future__ import annotations

import pytest

from tests.races.conftest import AT_ONCE, at_once, browser_of, meet_after, statuses
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
