"""Production's security headers and cookie flags, on real responses.

The values come from toc/settings.py itself, loaded in a subprocess with
DEBUG off as production would load it; the responses are then made here with
exactly those values in force.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "toc.example.com"
SECURITY_SETTING = re.compile(
    r"^(SECURE_|SESSION_COOKIE_|CSRF_COOKIE_|X_FRAME_OPTIONS$|ALLOWED_HOSTS$)"
)
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-for-tests",
    "ALLOWED_HOSTS": HOST,
}


@pytest.fixture(scope="module")
def production() -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({n: getattr(settings, n) for n in dir(settings) "
        "if n.isupper()}, default=str))"
    )
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "toc.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        name: value for name, value in values.items() if SECURITY_SETTING.match(name)
    }


@pytest.fixture
def client_in_production(production):
    with override_settings(**production):
        yield Client(HTTP_HOST=HOST)


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:]
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


def test_plain_http_is_sent_to_https(client_in_production) -> None:
    response = client_in_production.get("/accounts/login/")
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/accounts/login/"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz", "/api/v1/systems/"])
def test_every_response_carries_the_security_headers(
    client_in_production, path
) -> None:
    response = client_in_production.get(path, secure=True)
    assert response.status_code in (200, 401), response.status_code
    headers = response.headers
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = _csp(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for directive in ("script-src", "style-src", "default-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy[directive])
    assert policy["script-src"][0] == "'self'"
    assert [s for s in policy["script-src"][1:] if not s.startswith("'nonce-")] == []


@pytest.mark.django_db
def test_cookies_are_secure_httponly_and_same_site(client_in_production) -> None:
    UserFactory(username="ops", password="a-long-password-9")
    page = client_in_production.get("/accounts/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"

    logged_in = client_in_production.post(
        "/accounts/login/",
        {"username": "ops", "password": "a-long-password-9"},
        secure=True,
    )
    assert logged_in.status_code == 302
    session = logged_in.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
