"""What the cycles API tests share (the token clients are tests/api/conftest.py's,
the `cycle` tests/conftest.py's)."""

from __future__ import annotations

from datetime import datetime

from tests.cycles.conftest import validation_run  # noqa: F401 (a fixture used here)

API = "/api/v1/systems/fraud/cycles"
BASE = f"{API}/1"


def has_offset(moment: str) -> bool:
    return datetime.fromisoformat(moment).utcoffset() is not None


def fields_of(response) -> set:
    return {error["field"] for error in response.json()["errors"]}
