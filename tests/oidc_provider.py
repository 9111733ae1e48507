"""A real OpenID Connect provider for the single sign-on tests.

oidc-provider-mock (a dev dependency) is an OpenID provider built on Authlib:
discovery, JWKS, the authorization code flow, ID tokens signed RS256 with a key
of its own, userinfo. It runs on a thread of the test process, on a free port
of localhost, and knows toc only as a client registered over HTTP, so every
request toc makes to it (discovery, token, JWKS, userinfo) is real HTTP.

Its authorization page is a form where a person's subject is typed; the test
posts it, as the person's browser would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests


@dataclass(frozen=True)
class Provider:
    url: str  # the issuer

    def register(self, redirect_uri: str) -> tuple[str, str]:
        """A client for toc: its id and secret."""
        response = requests.post(
            f"{self.url}/oauth2/clients",
            json={
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_post",
            },
            timeout=5,
        )
        response.raise_for_status()
        client = response.json()
        return client["client_id"], client["client_secret"]

    def person(self, sub: str, **claims: object) -> None:
        """The claims the provider holds for `sub` (email, email_verified, ...)."""
        response = requests.put(
            f"{self.url}/users/{quote(sub, safe='')}", json=claims, timeout=5
        )
        response.raise_for_status()

    def authorize(self, authorization_url: str, sub: str, action: str = "") -> str:
        """The person signs in at the provider as `sub` (or denies, with
        action="deny"); returns where the provider sends their browser."""
        data = {"sub": sub, **({"action": action} if action else {})}
        response = requests.post(
            authorization_url, data=data, allow_redirects=False, timeout=5
        )
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def id_token(
        self,
        client: tuple[str, str],
        redirect_uri: str,
        sub: str,
        *,
        nonce: str,
        via: str = "",
    ) -> str:
        """An ID token signed for `client`, fetched as a client fetches one.
        `via` another address of this provider makes it the token's issuer."""
        client_id, secret = client
        base = via or self.url
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid email",
                "state": "state",
                "nonce": nonce,
            }
        )
        back = self.authorize(f"{base}/oauth2/authorize?{query}", sub)
        response = requests.post(
            f"{base}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": parse_qs(urlsplit(back).query)["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": secret,
            },
            timeout=5,
        )
        response.raise_for_status()
        return response.json()["id_token"]


@contextmanager
def running_provider() -> Iterator[Provider]:
    """Skips the test if the provider's package is missing or will not start."""
    provider_mock = pytest.importorskip(
        "oidc_provider_mock",
        reason="oidc-provider-mock (a dev dependency) is not installed: "
        "pip install -e '.[dev]'",
    )
    try:
        server = provider_mock.run_server_in_thread(require_client_registration=True)
        running = server.__enter__()
    except OSError as error:
        pytest.skip(f"The OpenID provider could not start: {error}")
    try:
        yield Provider(f"http://localhost:{running.server_port}")
    finally:
        server.__exit__(None, None, None)


def turn_on(settings, issuer: str, client: tuple[str, str]) -> None:
    """Single sign-on on, as toc/settings.py turns it on for OIDC_ISSUER,
    OIDC_CLIENT_ID and OIDC_CLIENT_SECRET."""
    settings.OIDC_ISSUER = issuer
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = client
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "toc.accounts.oidc.Backend",
    ]


def path_of(url: str) -> str:
    """The path and query of a URL, for Django's test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
