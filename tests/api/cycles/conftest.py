"""What the cycles API tests share: token clients per persona (the `cycle` is
tests/conftest.py's)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client

from tests.api.clients import token_client
from tests.cycles.conftest import validation_run  # noqa: F401 (a fixture used here)
from toc.accounts.models import Role

API = "/api/v1/systems/fraud/cycles"
BASE = f"{API}/1"


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
