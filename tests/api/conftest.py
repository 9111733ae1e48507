"""Token clients per persona, for the API tests."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.clients import token_client
from toc.accounts.models import Role


@pytest.fixture
def editor(personas) -> Client:
    return token_client(personas, Role.EDITOR)


@pytest.fixture
def viewer(personas) -> Client:
    return token_client(personas, Role.VIEWER)


@pytest.fixture
def outsider(personas) -> Client:
    return token_client(personas, None)
