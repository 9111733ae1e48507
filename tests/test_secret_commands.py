from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import UserFactory
from toc.accounts.models import ApiToken
from toc.systems.models import IngestKey


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_ingest_key_prints_a_working_key(personas) -> None:
    secret = _run("create_ingest_key", "fraud")
    assert secret.startswith("tocik_")
    assert IngestKey.find(secret).system == personas.system


def test_create_ingest_key_for_unknown_system(db) -> None:
    with pytest.raises(CommandError, match="No system"):
        _run("create_ingest_key", "nope")


def test_create_api_token_prints_a_working_token(db) -> None:
    user = UserFactory(username="ana")
    secret = _run("create_api_token", "ana", "--name", "ci")
    token = ApiToken.objects.get(user=user)
    assert secret.startswith("tocpat_") and token.name == "ci"
    assert secret[:15] == token.token_key


def test_create_api_token_for_unknown_user(db) -> None:
    with pytest.raises(CommandError, match="No user"):
        _run("create_api_token", "ghost")
