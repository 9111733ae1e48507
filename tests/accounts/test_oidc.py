"""Single sign-on against a real OpenID provider on localhost (tests/oidc_provider.py).

Django's test client plays toc's side of the browser; the person's step at the
provider is a real HTTP post to it, and toc's own calls to it (discovery, the
token, the JWKS, userinfo) are real HTTP too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from tests.factories import InvitationFactory, MembershipFactory, UserFactory
from tests.oidc_provider import Provider, path_of, running_provider, turn_on
from toc.accounts import oidc
from toc.accounts.models import Membership, Role

User = get_user_model()
CALLBACK = "http://testserver/accounts/sso/callback/"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def credentials(provider: Provider) -> tuple[str, str]:
    return provider.register(CALLBACK)


@pytest.fixture
def sso(settings, provider: Provider, credentials: tuple[str, str]) -> Provider:
    """Single sign-on on, as OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET
    turn it on."""
    turn_on(settings, provider.url, credentials)
    return provider


def sign_in(client: Client, provider: Provider, sub: str, next_url: str = ""):
    """The person clicks the button, signs in at the provider as `sub`, and
    their browser comes back to toc."""
    start = client.get(
        "/accounts/sso/" + (f"?next={quote(next_url)}" if next_url else "")
    )
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider.url}/oauth2/authorize?")
    return client.get(path_of(provider.authorize(start["Location"], sub)))


def signed_in(client: Client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def dead_address() -> str:
    """A localhost port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_off_no_button_and_the_urls_404(db, client, settings) -> None:
    settings.OIDC_ISSUER = ""
    assert "Sign in with" not in client.get("/accounts/login/").text
    assert client.get("/accounts/sso/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=a&state=b").status_code == 404
    invitation = InvitationFactory()
    assert "sign in with" not in client.get(invitation.path).text


def test_the_login_page_offers_the_provider_by_its_name(db, client, sso) -> None:
    page = client.get("/accounts/login/?next=/teams/")
    assert "Sign in with your company account" in page.text
    assert 'href="/accounts/sso/?next=/teams/"' in page.text
    assert 'name="password"' in page.text  # the password form stays beside it


def test_the_provider_name_comes_from_the_settings(db, client, sso, settings) -> None:
    settings.OIDC_PROVIDER_NAME = "Acme Okta"
    assert "Sign in with Acme Okta" in client.get("/accounts/login/").text


def test_a_new_person_gets_an_account_named_after_them(db, client, sso) -> None:
    sso.person(
        "sub-new",
        email="nina@example.com",
        email_verified=True,
        preferred_username="nina.k",
    )
    response = sign_in(client, sso, "sub-new", next_url="/teams/")
    assert response.status_code == 302
    assert response["Location"] == "/teams/"
    user = signed_in(client)
    assert (user.username, user.email) == ("nina.k", "nina@example.com")
    assert not user.has_usable_password()
    assert client.get("/teams/").status_code == 200


def test_the_next_sign_in_finds_the_same_account(db, client, sso) -> None:
    sso.person("sub-again", email="omar@example.com", email_verified=True)
    sign_in(client, sso, "sub-again")
    first = signed_in(client)
    client.post("/accounts/logout/")
    assert signed_in(client) is None
    response = sign_in(client, sso, "sub-again")
    assert response["Location"] == "/systems/"
    assert signed_in(client) == first
    assert first.username == "omar"  # from the e-mail, without preferred_username
    assert User.objects.filter(email="omar@example.com").count() == 1


def test_an_account_with_a_password_is_found_by_its_email(db, client, sso) -> None:
    ana = UserFactory(username="ana", email="Ana.Lopez@Example.com")
    sso.person("sub-ana", email="ana.lopez@example.com", email_verified=True)
    sign_in(client, sso, "sub-ana")
    assert signed_in(client) == ana
    ana.refresh_from_db()
    assert ana.check_password("password")  # her password still works


def test_a_username_already_taken_gets_a_number(db, client, sso) -> None:
    UserFactory(username="Lee", email="lee@other.example")
    UserFactory(username="lee-2", email="lee2@other.example")
    sso.person("sub-lee", email="lee@example.com", email_verified=True)
    sign_in(client, sso, "sub-lee")
    assert signed_in(client).username == "lee-3"


def test_an_unverified_email_is_refused_with_a_message(db, client, sso) -> None:
    UserFactory(username="vic", email="vic@example.com")
    sso.person("sub-vic", email="vic@example.com", email_verified=False)
    response = sign_in(client, sso, "sub-vic", next_url="/teams/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/teams/"
    assert signed_in(client) is None
    page = client.get(response["Location"])
    assert "has not verified your e-mail address vic@example.com" in page.text
    assert User.objects.filter(email="vic@example.com").count() == 1


def test_no_email_at_all_is_refused_with_a_message(db, client, sso) -> None:
    sso.person("sub-none", name="Nobody")
    response = sign_in(client, sso, "sub-none")
    assert signed_in(client) is None
    assert "did not give toc your e-mail address" in messages_of(response)[0]


def test_two_accounts_with_the_email_are_refused(db, client, sso) -> None:
    UserFactory(username="sam1", email="sam@example.com")
    UserFactory(username="sam2", email="SAM@example.com")
    sso.person("sub-sam", email="sam@example.com", email_verified=True)
    response = sign_in(client, sso, "sub-sam")
    assert signed_in(client) is None
    assert "Several accounts here" in messages_of(response)[0]


def test_a_state_that_was_not_started_here_is_refused(db, client, sso) -> None:
    sso.person("sub-eve", email="eve@example.com", email_verified=True)
    start = client.get("/accounts/sso/")
    back = sso.authorize(start["Location"], "sub-eve")
    # Another browser, which did not start this sign-in, brings the code back.
    stranger = Client()
    response = stranger.get(path_of(back))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert signed_in(stranger) is None
    page = stranger.get("/accounts/login/")
    assert "was not started in this browser" in page.text
    # A state made up by hand, in the browser that did start one.
    forged = client.get("/accounts/sso/callback/?code=x&state=forged")
    assert forged["Location"] == "/accounts/login/"
    assert signed_in(client) is None


def test_a_link_to_the_callback_does_not_log_anyone_out(db, client, sso) -> None:
    client.force_login(UserFactory())
    for query in ("error=access_denied", "error=x&state=made-up", ""):
        response = client.get(f"/accounts/sso/callback/?{query}")
        assert response.status_code == 302
        assert signed_in(client) is not None


def test_a_code_is_good_once(db, client, sso) -> None:
    sso.person("sub-once", email="once@example.com", email_verified=True)
    start = client.get("/accounts/sso/")
    back = path_of(sso.authorize(start["Location"], "sub-once"))
    client.get(back)
    client.post("/accounts/logout/")
    again = client.get(back)
    assert again["Location"] == "/accounts/login/"
    assert signed_in(client) is None


def test_denied_at_the_provider_says_so(db, client, sso) -> None:
    start = client.get("/accounts/sso/?next=/teams/")
    back = sso.authorize(start["Location"], "sub-no", action="deny")
    assert parse_qs(urlsplit(back).query)["error"] == ["access_denied"]
    response = client.get(path_of(back))
    assert response["Location"] == "/accounts/login/?next=/teams/"
    assert messages_of(response) == [
        "Signing in with your company account was cancelled or refused."
    ]


def test_an_unsafe_next_is_not_followed(db, client, sso) -> None:
    sso.person("sub-next", email="next@example.com", email_verified=True)
    response = sign_in(client, sso, "sub-next", next_url="https://evil.example/")
    assert response["Location"] == "/systems/"
    assert signed_in(client).email == "next@example.com"


def test_a_provider_that_cannot_be_reached_is_a_message(db, client, settings) -> None:
    turn_on(settings, dead_address(), ("toc", "secret"))
    response = client.get("/accounts/sso/?next=/teams/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/teams/"
    page = client.get(response["Location"])
    assert "your company account could not be reached just now" in page.text


def test_a_provider_gone_during_the_sign_in_is_a_message(db, client, settings) -> None:
    # A provider of this test's own, stopped while the person is at its page.
    with running_provider() as provider:
        turn_on(settings, provider.url, provider.register(CALLBACK))
        provider.person("sub-gone", email="gone@example.com", email_verified=True)
        start = client.get("/accounts/sso/")
        back = path_of(provider.authorize(start["Location"], "sub-gone"))
    response = client.get(back)
    assert response["Location"] == "/accounts/login/"
    assert "could not be reached just now" in messages_of(response)[0]
    assert signed_in(client) is None


def test_a_signed_in_person_does_not_wait_on_the_provider(db, client, sso, settings):
    sso.person("sub-stay", email="stay@example.com", email_verified=True)
    sign_in(client, sso, "sub-stay")
    # Each request loads the person through the backend that signed them in.
    settings.OIDC_ISSUER = dead_address()
    assert client.get("/teams/").status_code == 200
    assert signed_in(client).email == "stay@example.com"


def test_a_password_log_in_never_reaches_the_provider(db, settings) -> None:
    turn_on(settings, dead_address(), ("toc", "secret"))
    UserFactory(username="pat")
    client = Client()
    # A code and a state in the query would start a token exchange if the
    # single sign-on backend were offered the password.
    wrong = client.post(
        "/accounts/login/?code=x&state=y", {"username": "pat", "password": "no"}
    )
    assert wrong.status_code == 200
    assert "do not match" in wrong.text
    right = client.post("/accounts/login/", {"username": "pat", "password": "password"})
    assert right.status_code == 302
    assert signed_in(client).username == "pat"


def test_the_password_limit_does_not_stop_single_sign_on(db, sso, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "1/900"}
    UserFactory(username="kim", email="kim@example.com")
    client = Client()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "kim", "password": "no"})
    refused = client.post("/accounts/login/", {"username": "kim", "password": "no"})
    assert refused.status_code == 429
    sso.person("sub-kim", email="kim@example.com", email_verified=True)
    sign_in(client, sso, "sub-kim")
    assert signed_in(client).username == "kim"


def test_an_invited_person_joins_the_team_after_signing_in(db, client, sso) -> None:
    invitation = InvitationFactory(role=Role.EDITOR)
    link = invitation.path
    page = client.get(link)
    assert f'href="/accounts/sso/?next={quote(link)}"' in page.text
    sso.person("sub-joiner", email="joiner@example.com", email_verified=True)
    response = sign_in(client, sso, "sub-joiner", next_url=link)
    assert response["Location"] == link
    assert "Join" in client.get(link).text
    joined = client.post(link)
    assert joined["Location"] == f"/teams/{invitation.team.slug}/"
    membership = Membership.objects.get(user=signed_in(client), team=invitation.team)
    assert membership.role == Role.EDITOR


def test_discovery_is_read_once(db, client, sso, monkeypatch) -> None:
    sso.person("sub-once-more", email="again@example.com", email_verified=True)
    sign_in(client, sso, "sub-once-more")
    reads: list[str] = []
    real_get = oidc.requests.get

    def counting_get(url: str, *args, **kwargs):
        reads.append(url)
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(oidc.requests, "get", counting_get)
    client.post("/accounts/logout/")
    sign_in(client, sso, "sub-once-more")
    assert signed_in(client).email == "again@example.com"
    assert not any("openid-configuration" in url for url in reads)


def test_a_teammate_signed_in_by_sso_sees_their_team(db, client, sso) -> None:
    member = MembershipFactory(user__email="tea@example.com")
    sso.person("sub-tea", email="tea@example.com", email_verified=True)
    sign_in(client, sso, "sub-tea")
    assert signed_in(client) == member.user
    assert client.get(f"/teams/{member.team.slug}/").status_code == 200


def test_a_wrong_client_secret_is_a_message(db, client, sso, settings) -> None:
    settings.OIDC_RP_CLIENT_SECRET = "not-the-secret"
    sso.person("sub-secret", email="secret@example.com", email_verified=True)
    response = sign_in(client, sso, "sub-secret")
    assert response["Location"] == "/accounts/login/"
    assert "turned down toc's request" in messages_of(response)[0]
    assert signed_in(client) is None


def test_an_id_token_for_another_client_or_issuer_is_refused(
    db, sso, credentials
) -> None:
    # Real tokens, signed by the provider's key and checked against its JWKS.
    token = sso.id_token(credentials, CALLBACK, "sub-ok", nonce="n1")
    assert oidc.Backend().verify_token(token, nonce="n1")["sub"] == "sub-ok"
    other_client = sso.register(CALLBACK)
    token = sso.id_token(other_client, CALLBACK, "sub-aud", nonce="n2")
    with pytest.raises(SuspiciousOperation, match="not toc"):
        oidc.Backend().verify_token(token, nonce="n2")
    elsewhere = sso.url.replace("localhost", "127.0.0.1")
    token = sso.id_token(credentials, CALLBACK, "sub-iss", nonce="n3", via=elsewhere)
    with pytest.raises(SuspiciousOperation, match="issuer"):
        oidc.Backend().verify_token(token, nonce="n3")
    with pytest.raises(SuspiciousOperation, match="Nonce"):
        oidc.Backend().verify_token(token, nonce="another")


def settings_with(**env: str) -> subprocess.CompletedProcess:
    """toc's settings read afresh in a process with these variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.AUTHENTICATION_BACKENDS)",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_off_by_default_with_django_s_backend_only() -> None:
    started = settings_with()
    assert started.returncode == 0, started.stderr
    assert "['django.contrib.auth.backends.ModelBackend']" in started.stdout


def test_an_issuer_without_its_client_is_refused_at_startup() -> None:
    started = settings_with(OIDC_ISSUER="https://login.example.com")
    assert started.returncode != 0
    assert "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be" in started.stderr


def test_the_three_variables_turn_it_on_without_asking_the_provider() -> None:
    started = settings_with(
        OIDC_ISSUER=dead_address(), OIDC_CLIENT_ID="toc", OIDC_CLIENT_SECRET="s"
    )
    assert started.returncode == 0, started.stderr
    assert "toc.accounts.oidc.Backend" in started.stdout


def test_a_deactivated_account_cannot_sign_in_or_stay_signed_in(db, sso) -> None:
    sso.person("sub-left", email="left@example.com", email_verified=True)
    earlier, later = Client(), Client()
    sign_in(earlier, sso, "sub-left")
    person = signed_in(earlier)
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert earlier.get("/teams/")["Location"].startswith("/accounts/login/")
    response = sign_in(later, sso, "sub-left")
    assert response["Location"] == "/accounts/login/"
    assert messages_of(response) == [
        "toc could not sign you in with your company account."
    ]
    assert signed_in(later) is None
