"""What the cycles API tests share: token clients per persona, and a cycle."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.api.clients import send  # noqa: F401  (shared with the other API tests)
from toc.accounts.models import ApiToken, Membership, Role
from toc.cycles.models import Cycle
from toc.cycles.services import cycle_open

API = "/api/v1/systems/fraud/cycles"
BASE = f"{API}/1"


def user_of(personas, role: Role | None) -> User:
    """The team's member with `role`; None is the outsider (another team's admin)."""
    if role is None:
        return Membership.objects.exclude(team=personas.team).get().user
    return Membership.objects.get(team=personas.team, role=role).user


def token_client(personas, role: Role | None) -> Client:
    user = user_of(personas, role)
    token = ApiToken.objects.create(user=user, name="script", expiry=None)[1]
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def cycle(personas) -> Cycle:
    return cycle_open(
        system=personas.system,
        title="Features saturate",
        user=user_of(personas, Role.ADMIN),
    )


@pytest.fixture
def editor(personas) -> Client:
    return token_client(personas, Role.EDITOR)


@pytest.fixture
def viewer(personas) -> Client:
    return token_client(personas, Role.VIEWER)


@pytest.fixture
def outsider(personas) -> Client:
    return token_client(personas, None)


def has_offset(moment: str) -> bool:
    return datetime.fromisoformat(moment).utcoffset() is not None


def fields_of(response) -> set:
    return {error["field"] for error in response.json()["errors"]}
