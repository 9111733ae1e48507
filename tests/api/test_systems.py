from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory
from toc.accounts.models import Membership, Role
from toc.systems.models import System

BODY = {
    "name": "Churn",
    "slug": "churn",
    "description": "Predicts churn",
    "stages": [
        {"name": "Ingest", "slug": "ingest"},
        {"name": "Score", "slug": "score"},
    ],
}


def _client(personas, role: Role | None) -> Client:
    if role is None:
        user = Membership.objects.exclude(team=personas.team).get().user
    else:
        user = Membership.objects.get(team=personas.team, role=role).user
    token = ApiTokenFactory(user=user, name="t").plaintext
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_editor_creates_a_system_with_stages_in_order(personas) -> None:
    client = _client(personas, Role.EDITOR)
    response = client.post(
        "/api/v1/systems/",
        {"team": personas.team.slug, **BODY},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    system = System.objects.get(slug="churn")
    assert system.team == personas.team
    assert list(system.stages.values_list("slug", "position")) == [
        ("ingest", 0),
        ("score", 1),
    ]
    assert [s["slug"] for s in response.json()["stages"]] == ["ingest", "score"]


@pytest.mark.parametrize("role", [Role.VIEWER, None])
def test_only_writers_of_the_team_can_create(personas, role) -> None:
    response = _client(personas, role).post(
        "/api/v1/systems/",
        {"team": personas.team.slug, **BODY},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "team"
    assert not System.objects.filter(slug="churn").exists()


def test_taken_slug_is_a_field_error(personas) -> None:
    response = _client(personas, Role.EDITOR).post(
        "/api/v1/systems/",
        {"team": personas.team.slug, **BODY, "slug": "other"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["slug"]


def test_repeated_stage_slugs_are_refused(personas) -> None:
    stages = [{"name": "A", "slug": "a"}, {"name": "B", "slug": "a"}]
    response = _client(personas, Role.EDITOR).post(
        "/api/v1/systems/",
        {"team": personas.team.slug, **BODY, "stages": stages},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "stages"
    assert not System.objects.filter(slug="churn").exists()


def test_list_has_only_own_team_systems(personas) -> None:
    response = _client(personas, Role.VIEWER).get("/api/v1/systems/")
    assert [s["slug"] for s in response.json()["results"]] == ["fraud"]
