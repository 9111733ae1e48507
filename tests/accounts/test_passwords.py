from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import ApiTokenFactory, UserFactory
from toc.accounts.models import ApiToken

NEW = "a-new-horse-battery"
RESET_LINK = re.compile(r"http://testserver(/account/password/reset/\S+/\S+/)")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def session_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def signed_in(client: Client) -> bool:
    return client.get("/systems/").status_code == 200


def api_answers(token: ApiToken) -> bool:
    client = Client(headers={"Authorization": f"Bearer {token.plaintext}"})
    return client.get("/api/v1/systems/").status_code == 200


def change(client: Client, **extra: str):
    return client.post(
        "/account/password/",
        {
            "old_password": "password",
            "new_password1": NEW,
            "new_password2": NEW,
            **extra,
        },
        follow=True,
    )


def test_the_pages_link_to_changing_and_resetting_a_password(alice) -> None:
    assert 'href="/account/password/"' in session_of(alice).get("/systems/").text
    assert 'href="/account/password/reset/"' in Client().get("/accounts/login/").text


def test_a_change_keeps_this_session_and_ends_every_other(alice) -> None:
    here, there = session_of(alice), session_of(alice)
    token = ApiTokenFactory(user=alice, name="notebook")
    done = change(here)
    assert done.redirect_chain == [("/account/password/changed/", 302)]
    assert "Your other sessions are logged out" in done.text
    assert signed_in(here)
    assert not signed_in(there)
    assert api_answers(token)
    alice.refresh_from_db()
    assert alice.check_password(NEW)


def test_a_change_revokes_the_tokens_when_asked(alice) -> None:
    tokens = [ApiTokenFactory(user=alice, name=n) for n in ("ci", "notebook")]
    someone_elses = ApiTokenFactory(user=UserFactory(), name="theirs")
    here = session_of(alice)
    done = change(here, revoke_tokens="on")
    assert "Revoked 2 API tokens." in done.text
    assert not any(api_answers(token) for token in tokens)
    assert api_answers(someone_elses)
    assert signed_in(here)


def test_a_wrong_current_password_changes_nothing_and_keeps_the_choice(
    alice,
) -> None:
    token = ApiTokenFactory(user=alice, name="ci")
    there = session_of(alice)
    page = change(session_of(alice), old_password="nope", revoke_tokens="on")
    assert page.status_code == 200
    assert "Your old password was entered incorrectly" in page.text
    assert re.search(r'name="revoke_tokens"[^>]*checked', page.text)
    assert api_answers(token)
    assert signed_in(there)
    alice.refresh_from_db()
    assert alice.check_password("password")


def test_changing_a_password_needs_a_session(db) -> None:
    response = Client().get("/account/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def ask_for_a_reset(email: str, address: str = "198.51.100.4"):
    return Client(REMOTE_ADDR=address).post(
        "/account/password/reset/", {"email": email}
    )


def reset_link() -> str:
    assert len(mail.outbox) == 1
    return RESET_LINK.search(mail.outbox[0].body).group(1)


def set_password(link: str, **extra: str):
    client = Client(REMOTE_ADDR="198.51.100.4")
    form = client.get(link, follow=True)
    assert "Set a new password" in form.text
    return client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW, "new_password2": NEW, **extra},
        follow=True,
    )


@pytest.mark.parametrize("revoke", [True, False], ids=["revoked", "kept"])
def test_a_reset_ends_every_session_and_revokes_tokens_when_asked(
    alice, revoke
) -> None:
    sessions = [session_of(alice), session_of(alice)]
    token = ApiTokenFactory(user=alice, name="ci")
    sent = ask_for_a_reset("ALICE@example.com")
    assert sent["Location"] == "/account/password/reset/sent/"
    assert mail.outbox[0].to == ["alice@example.com"]
    done = set_password(reset_link(), **({"revoke_tokens": "on"} if revoke else {}))
    assert done.redirect_chain[-1] == ("/account/password/reset/done/", 302)
    assert "Every session of yours was logged out" in done.text
    assert not any(signed_in(session) for session in sessions)
    assert api_answers(token) is not revoke
    assert Client().login(username="alice", password=NEW)


def test_a_reset_link_works_once(alice) -> None:
    ask_for_a_reset("alice@example.com")
    link = reset_link()
    set_password(link)
    used = Client().get(link, follow=True)
    assert "This link does not work" in used.text


def test_an_unknown_address_gets_the_same_answer_and_no_mail(alice) -> None:
    sent = ask_for_a_reset("nobody@example.com")
    assert sent["Location"] == "/account/password/reset/sent/"
    assert mail.outbox == []


def test_reset_requests_are_limited_per_address(alice, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password-reset-address": "2/3600"}
    for _ in range(2):
        assert ask_for_a_reset("alice@example.com").status_code == 302
    refused = ask_for_a_reset("alice@example.com")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3601
    assert "Too many reset requests from this address" in refused.text
    assert 'value="alice@example.com"' in refused.text
    assert len(mail.outbox) == 2
    assert ask_for_a_reset("alice@example.com", "203.0.113.7").status_code == 302


def test_a_reset_lifts_the_lock_on_the_name(alice, settings) -> None:
    """Locked out after too many guesses, someone who resets their password
    can log in with the new one at once."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-name-address": "2/900"}
    here = Client(REMOTE_ADDR="198.51.100.4")
    for _ in range(2):
        here.post("/accounts/login/", {"username": "alice", "password": "guess"})
    locked = here.post("/accounts/login/", {"username": "alice", "password": NEW})
    assert locked.status_code == 429
    assert "reset your password" in locked.text
    ask_for_a_reset("alice@example.com")
    set_password(reset_link())
    response = here.post("/accounts/login/", {"username": "alice", "password": NEW})
    assert response.status_code == 302
