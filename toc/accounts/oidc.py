"""Signing in with the company's OpenID Connect provider (single sign-on).

Off unless settings.OIDC_ISSUER is set; then the login page offers it beside
the password form. mozilla-django-oidc runs the authorization code flow (with
PKCE): its state and nonce, the token exchange, the ID token's signature
checked against the provider's JWKS. This module adds what toc needs around it:

- the provider's endpoints, read from its discovery document on the first
  sign-in and kept for the life of the process;
- the ID token's issuer and audience checked (the library checks its
  signature, expiry and nonce only);
- the person found by their e-mail address, which the provider must have
  verified, or given an account named after their preferred username;
- every failure a message on the login page, never an error page.

Passwords are not involved: the login limiter (toc/accounts/login.py) counts
password guesses, and this backend takes no password.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe
from mozilla_django_oidc.auth import (  # type: ignore[import-untyped]
    OIDCAuthenticationBackend,
)
from mozilla_django_oidc.utils import import_from_settings  # type: ignore[import-untyped]
from mozilla_django_oidc.views import (  # type: ignore[import-untyped]
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

logger = logging.getLogger(__name__)


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or is not its own."""


class SignInRefused(Exception):
    """The provider signed the person in, but toc cannot tell who they are here."""


def provider_name() -> str:
    """The name on the sign-in button; empty when single sign-on is off."""
    return settings.OIDC_PROVIDER_NAME if settings.OIDC_ISSUER else ""


# Each discovery document read, by issuer. Kept for the process's life: a
# provider that moves its endpoints is rare, and a restart reads them anew.
_discovered: dict[str, dict[str, Any]] = {}


def provider_endpoint(name: str) -> str:
    """One URL from the provider's discovery document (OpenID Connect Discovery
    1.0), such as "token_endpoint"."""
    issuer = settings.OIDC_ISSUER
    if issuer not in _discovered:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error
        # The spec's rule: a document that names another issuer is not to be
        # used (it could send the tokens elsewhere).
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise ProviderUnavailable(
                f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}."
            )
        _discovered[issuer] = document
    endpoint = _discovered[issuer].get(name)
    if not endpoint:
        raise ProviderUnavailable(f"The provider's discovery document has no {name}.")
    return str(endpoint)


# The library's setting for each endpoint, and its name in discovery.
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class Backend(OIDCAuthenticationBackend):
    """Finds or makes the person the provider vouches for."""

    def __init__(self) -> None:
        # Not the library's __init__, which reads the endpoints: Django makes a
        # backend for every password log-in and every request of someone
        # signed in this way, and none of them should wait on the provider.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    # The library's names for the endpoints, read when it uses them.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_endpoint("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_endpoint("jwks_uri")

    def authenticate(self, request, *, nonce, code_verifier):
        # Keyword-only and required: Django offers a password log-in to each
        # backend whose signature takes its arguments, and this one takes only
        # what the callback passes.
        return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)

    def get_user(self, user_id):
        # Django's, which the library's skips: a deactivated person's session
        # ends at their next request.
        return ModelBackend.get_user(self, user_id)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience or []
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
            raise SuspiciousOperation(f"The token's issuer is {payload.get('iss')!r}.")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation(f"The token is for {audience!r}, not toc.")
        return payload

    def verify_claims(self, claims) -> bool:
        if not claims.get("email"):
            raise SignInRefused(
                f"{provider_name()} did not give toc your e-mail address, so toc "
                "cannot tell which account is yours. Ask your administrator."
            )
        # Amazon Cognito, for one, sends the flag as a string.
        if claims.get("email_verified") not in (True, "true"):
            raise SignInRefused(
                f"{provider_name()} has not verified your e-mail address "
                f"{claims['email']}, so toc cannot sign you in with it. Verify it "
                "there, or log in with your password."
            )
        return True

    def filter_users_by_claims(self, claims):
        users = super().filter_users_by_claims(claims)
        if users.count() > 1:
            raise SignInRefused(
                f"Several accounts here have the e-mail address {claims['email']}, "
                "so toc cannot tell which is yours. Log in with your password, "
                "or ask an admin to leave the address on one account only."
            )
        return users

    def create_user(self, claims):
        wanted = claims.get("preferred_username") or claims["email"].split("@")[0]
        # Django's rule for a username (letters, digits and @.+-_), with room
        # for a number that sets it apart from one already taken.
        base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
        for attempt in range(1, 100):
            username = base if attempt == 1 else f"{base}-{attempt}"
            if self.UserModel.objects.filter(username__iexact=username).exists():
                continue
            try:
                # A savepoint: another sign-in may take the name meanwhile.
                with transaction.atomic():
                    return self.UserModel.objects.create_user(
                        username, email=claims["email"]
                    )
            except IntegrityError:
                continue
        raise SignInRefused("toc could not choose a username for you. Ask an admin.")


def _setting(name: str, *default: Any) -> Any:
    """The library's settings, with the endpoints from discovery."""
    if name in _ENDPOINTS:
        return provider_endpoint(_ENDPOINTS[name])
    return import_from_settings(name, *default)


class _SignIn(OIDCAuthenticationRequestView):
    get_settings = staticmethod(_setting)


class _Callback(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:
        # A state this browser was given, or nothing happens: the library
        # would answer a wrong one with a 400 page, and a link bearing only an
        # error would log its visitor out.
        if request.GET.get("state") not in request.session.get("oidc_states", {}):
            return self._refused(
                "That sign-in was not started in this browser, or it has "
                "expired. Please sign in again."
            )
        try:
            return super().get(request)
        except SignInRefused as refused:
            return self._refused(str(refused))
        except requests.HTTPError:
            logger.warning("Single sign-on: the provider said no", exc_info=True)
            return self._refused(
                f"{provider_name()} turned down toc's request, so you are not "
                "signed in. If it happens again, tell your administrator: toc's "
                "client settings there may be wrong."
            )
        except (ProviderUnavailable, requests.RequestException):
            logger.warning("Single sign-on: the provider failed", exc_info=True)
            return self._refused(_unreachable())
        except (SuspiciousOperation, jwt.PyJWTError):
            logger.warning("Single sign-on: a token was refused", exc_info=True)
            return self._refused(
                f"toc could not verify what {provider_name()} sent, so you are not "
                "signed in. Please try again."
            )

    def login_failure(self) -> HttpResponse:
        if self.request.GET.get("error"):
            logger.info(
                "Single sign-on: the provider answered %s (%s)",
                self.request.GET["error"],
                self.request.GET.get("error_description", ""),
            )
            return self._refused(
                f"Signing in with {provider_name()} was cancelled or refused."
            )
        return self._refused(f"toc could not sign you in with {provider_name()}.")

    def _refused(self, message: str) -> HttpResponse:
        messages.error(self.request, message)
        return _back_to_login(self.request.session.get("oidc_login_next"))


def _back_to_login(next_url: str | None) -> HttpResponse:
    # The login page checks `next` before it follows it.
    return redirect_to_login(next_url) if next_url else redirect("login")


def _unreachable() -> str:
    return (
        f"{provider_name()} could not be reached just now, so you are not signed in. "
        "Try again in a minute, or log in with your password."
    )


@require_safe
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sends the browser to the provider, to come back to `callback`."""
    if not settings.OIDC_ISSUER:
        raise Http404("Single sign-on is off.")
    try:
        return _SignIn.as_view()(request)
    except ProviderUnavailable:
        logger.warning("Single sign-on: no discovery document", exc_info=True)
        messages.error(request, _unreachable())
        return _back_to_login(request.GET.get("next"))


@require_safe
def callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back, with a code or an error."""
    if not settings.OIDC_ISSUER:
        raise Http404("Single sign-on is off.")
    return _Callback.as_view()(request)
