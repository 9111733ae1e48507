from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from toc.settings import database_from_url, env_bool, env_int

ROOT = Path(__file__).resolve().parent.parent


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_database_url_names_the_variable_and_an_example() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_URL=.*postgres://"):
        database_from_url("not-a-url")


def test_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("mongodb://localhost/x")


def test_postgres_url_is_parsed() -> None:
    config = database_from_url("postgres://toc:pw@db.internal:6543/toc")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == (
        "db.internal",
        6543,
        "toc",
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("off", False), ("TRUE", True)]
)
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected) -> None:
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", default=not expected) is expected


def test_env_bool_refuses_a_typo(monkeypatch) -> None:
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", default=False)


def test_env_int_refuses_words(monkeypatch) -> None:
    monkeypatch.setenv("SOME_NUMBER", "a year")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env_int("SOME_NUMBER", 1)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _run_manage("check", DEBUG="0", ALLOWED_HOSTS="toc.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_bad_database_url_stops_manage_py_with_a_clear_message() -> None:
    result = _run_manage("check", DATABASE_URL="nonsense")
    assert result.returncode != 0
    assert "DATABASE_URL='nonsense' is not a database URL" in result.stderr


def test_cache_url_must_be_redis() -> None:
    result = _run_manage("check", CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert (
        "CACHE_URL='memcached://127.0.0.1:11211' must be a redis:// URL"
        in result.stderr
    )


def test_production_settings_pass_the_deploy_check() -> None:
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-for-tests",
        ALLOWED_HOSTS="toc.example.com",
    )
    assert result.returncode == 0, result.stderr
    # Passed on its merits: no check is silenced to get there. The headers and
    # cookies these settings produce are asserted in tests/security/test_headers.py.
    assert "no issues (0 silenced)" in result.stdout, result.stdout
