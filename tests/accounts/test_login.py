from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client

from tests.factories import UserFactory
from toc.lib import ratelimit

SITE, ADMIN = "/accounts/login/", "/admin/login/"
HERE = "198.51.100.4"  # where the person logs in from
STRANGER = "203.0.113.7"


@pytest.fixture(autouse=True)
def mid_window(monkeypatch) -> None:
    """The limiter's windows are aligned to the clock: its clock stands in the
    middle of a 15-minute window, so no test straddles two."""
    start = 1_800_000_000.0  # a whole number of hours since the epoch
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: start + 450))


def limits(settings, **figures: str) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        **{scope.replace("_", "-"): figure for scope, figure in figures.items()},
    }


def log_in(address: str, name: str, password: str, path: str = SITE):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": name, "password": password})
    response.logged_in = "_auth_user_id" in client.session
    return response


def test_login_with_the_right_password(db, client) -> None:
    UserFactory(username="ana")
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "password"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/systems/"


def test_wrong_password_says_so_and_keeps_the_username(db, client) -> None:
    UserFactory(username="ana")
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert b'value="ana"' in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(db, client) -> None:
    client.force_login(UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_staff_log_in_on_the_admins_page(db) -> None:
    UserFactory(username="ad", is_staff=True, is_superuser=True)
    client = Client()
    page = client.get(ADMIN)
    assert page.status_code == 200
    assert 'id="login-form"' in page.text
    response = client.post(ADMIN, {"username": "ad", "password": "password"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(ADMIN)["Location"] == "/admin/"


def test_forty_wrong_passwords_on_the_admins_page_stop_the_right_one(db) -> None:
    UserFactory(username="ad", is_staff=True)
    wrong = [log_in(HERE, "ad", f"guess{i}", ADMIN).status_code for i in range(40)]
    assert wrong[:10] == [200] * 10
    assert set(wrong[10:]) == {429}
    refused = log_in(HERE, "ad", "password", ADMIN)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "451"
    assert "Too many failed attempts to log in" in refused.text
    assert not refused.logged_in


@pytest.mark.parametrize(
    ("failing_on", "then_on"), [(SITE, ADMIN), (ADMIN, SITE), (ADMIN, ADMIN)]
)
def test_one_limit_counts_both_forms(db, settings, failing_on, then_on) -> None:
    limits(settings, login_name_address="3/900")
    UserFactory(username="ad", is_staff=True)
    for _ in range(3):
        assert log_in(HERE, "ad", "wrong", failing_on).status_code == 200
    assert log_in(HERE, "ad", "password", then_on).status_code == 429


def test_every_spelling_that_logs_in_as_a_name_counts_as_that_name(
    db, settings
) -> None:
    limits(settings, login_name_address="3/900")
    UserFactory(username="ad")
    # Django's form turns compatibility characters into plain ones (NFKC) and
    # trims spaces before it looks the name up.
    assert log_in(HERE, "ａｄ", "password").logged_in
    for spelling in ("ａｄ", " ad ", "ad"):
        assert log_in(HERE, spelling, "wrong").status_code == 200
    for spelling in ("ad", "ａｄ", "ad\t"):
        refused = log_in(HERE, spelling, "password")
        assert refused.status_code == 429
        assert not refused.logged_in


def test_another_case_is_another_name(db, settings) -> None:
    """The lookup is case-sensitive: "AD" never logs in as "ad", so its
    failures are its own."""
    limits(settings, login_name_address="3/900")
    UserFactory(username="ad")
    assert not log_in(HERE, "AD", "password").logged_in
    for _ in range(2):
        log_in(HERE, "ＡＤ", "wrong")  # fullwidth: "AD" once normalised
    assert log_in(HERE, "AD", "password").status_code == 429
    assert log_in(HERE, "ad", "password").logged_in


def test_successful_logins_never_count(db, settings) -> None:
    limits(
        settings, login_address="3/900", login_name_address="3/900", login_name="3/900"
    )
    UserFactory(username="workshop")
    for _ in range(50):
        assert log_in(HERE, "workshop", "password").logged_in
    assert log_in(HERE, "workshop", "wrong").status_code == 200
    assert log_in(HERE, "workshop", "password").logged_in


def test_slips_between_logins_do_not_add_up(db, settings) -> None:
    """A class sharing a login and an address: each slip is forgiven once the
    name logs in from there."""
    limits(settings, login_name_address="3/900")
    UserFactory(username="workshop")
    for _ in range(5):
        for _ in range(2):
            assert log_in(HERE, "workshop", "wrong").status_code == 200
        assert log_in(HERE, "workshop", "password").logged_in


@pytest.mark.parametrize(
    "ceiling",
    [None, "11/900"],
    ids=["the chosen figures", "a ceiling just above one address's share"],
)
def test_a_stranger_cannot_lock_someone_out(db, settings, ceiling) -> None:
    if ceiling:
        limits(settings, login_name=ceiling)
    UserFactory(username="alice")
    statuses = [log_in(STRANGER, "alice", "guess").status_code for _ in range(100)]
    # Refused attempts check no password and count for nothing.
    assert statuses.count(200) == 10
    assert statuses.count(429) == 90
    assert log_in(HERE, "alice", "password").logged_in


def test_the_name_ceiling_stops_a_guess_spread_over_many_addresses(db) -> None:
    UserFactory(username="alice")
    for i in range(30):
        for _ in range(10):
            assert log_in(f"192.0.2.{i}", "alice", "guess").status_code == 200
    assert log_in("192.0.2.200", "alice", "guess").status_code == 429
    refused = log_in(HERE, "alice", "password")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3151"  # the hour's window ends then


def test_one_ipv6_host_counts_as_one_address(db, settings) -> None:
    limits(settings, login_name_address="3/900")
    UserFactory(username="alice")
    for host in (1, 2, 3):
        assert log_in(f"2001:db8::{host}", "alice", "guess").status_code == 200
    assert log_in("2001:db8::4", "alice", "guess").status_code == 429
    assert log_in("2001:db8:0:1::5", "alice", "password").logged_in


@pytest.fixture
def password_checks() -> Iterator[list[str]]:
    checked: list[str] = []

    def failed(sender, credentials, **kwargs) -> None:
        checked.append(credentials["username"])

    user_login_failed.connect(failed)
    yield checked
    user_login_failed.disconnect(failed)


def test_a_refused_attempt_checks_no_password_and_keeps_the_name(
    db, settings, password_checks
) -> None:
    limits(settings, login_name_address="1/900")
    UserFactory(username="alice")
    log_in(HERE, "alice", "guess")
    assert password_checks == ["alice"]
    refused = log_in(HERE, "alice", "another guess")
    assert password_checks == ["alice"]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "451"
    assert 'value="alice"' in refused.text
    assert "Too many failed attempts to log in. Try again in 8 minutes" in (
        refused.text
    )
    assert "another guess" not in refused.text
    assert not log_in(HERE, "alice", "password").logged_in
