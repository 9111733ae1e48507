"""Stages added and renamed at once, through the page and the API."""

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
from toc.systems.forms import StageForm
from toc.systems.models import Stage

pytestmark = pytest.mark.django_db(transaction=True)

STAGES = "/systems/fraud/stages/add/"
API_STAGES = "/api/v1/systems/fraud/stages/"


def test_stages_added_at_once_take_the_next_positions_in_turn(personas) -> None:
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE // 2)]
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [
            lambda tab=tab, n=n: tab.post(
                STAGES, {"name": f"Page {n}", "unit": "records/s"}
            )
            for n, tab in enumerate(tabs)
        ]
        + [
            lambda n=n: api.post(
                API_STAGES, {"name": f"Script {n}"}, content_type="application/json"
            )
            for n in range(AT_ONCE // 2)
        ]
    )
    assert statuses(responses) == [201] * (AT_ONCE // 2) + [302] * (AT_ONCE // 2)
    positions = Stage.objects.filter(system=personas.system).values_list(
        "position", flat=True
    )
    assert sorted(positions) == list(range(3 + AT_ONCE))


def test_one_stage_name_sent_at_once_makes_one_stage_and_field_errors(
    personas, monkeypatch
) -> None:
    meet_after(monkeypatch, StageForm, "full_clean", AT_ONCE)
    tabs = [browser_of(personas.teammate) for _ in range(AT_ONCE // 2)]
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [
            lambda tab=tab: tab.post(STAGES, {"name": "Scoring", "unit": "records/s"})
            for tab in tabs
        ]
        + [
            lambda: api.post(
                API_STAGES, {"name": "Scoring"}, content_type="application/json"
            )
            for _ in range(AT_ONCE // 2)
        ]
    )
    assert Stage.objects.filter(system=personas.system, name="Scoring").count() == 1
    assert statuses(responses).count(500) == 0, statuses(responses)
    assert sum(r.status_code in (201, 302) for r in responses) == 1
    for refused in (r for r in responses if r.status_code == 400):
        assert "name" in field_errors(refused)
    for page in (r for r in responses if r.status_code == 200):
        form = page.context["form"]
        assert "already has a stage" in form.errors["name"][0]
        assert form["name"].value() == "Scoring"  # what was typed stays


def test_stages_renamed_to_one_name_at_once_keep_their_names_apart(
    personas, monkeypatch
) -> None:
    meet_after(monkeypatch, StageForm, "full_clean", 3)
    api = api_client(token_of(personas, Role.EDITOR))
    responses = at_once(
        [
            lambda stage=stage: api.patch(
                f"{API_STAGES}{stage}/",
                {"name": "Scoring"},
                content_type="application/json",
            )
            for stage in ["ingest", "features", "inference"]
        ]
    )
    assert statuses(responses) == [200, 400, 400]
    assert all("name" in field_errors(r) for r in responses if r.status_code == 400)
    assert Stage.objects.filter(system=personas.system, name="Scoring").count() == 1
