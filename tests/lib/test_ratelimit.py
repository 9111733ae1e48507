from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import IngestKeyFactory
from tests.metrics.samples import sample
from toc.lib import ratelimit


def _batch(recent) -> str:
    return json.dumps({"samples": [sample("ingest", recent)]})


def test_ingest_over_the_keys_limit_gets_429_with_an_integer_retry_after(
    personas, ingest_key, recent, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest-key": "3/60"}
    client = Client(headers={"Authorization": f"Bearer {ingest_key}"})
    statuses = [
        client.post(
            "/api/v1/systems/fraud/samples/", _batch(recent), "application/json"
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    limited = client.post(
        "/api/v1/systems/fraud/samples/", _batch(recent), "application/json"
    )
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert limited.json()["errors"][0]["message"].startswith("Request was throttled")


def test_ingest_limit_per_address_counts_every_key(
    personas, ingest_key, recent, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest-address": "2/60"}
    other = IngestKeyFactory(system=personas.system, name="second").plaintext
    statuses = [
        Client(headers={"Authorization": f"Bearer {key}"})
        .post("/api/v1/systems/fraud/samples/", _batch(recent), "application/json")
        .status_code
        for key in (ingest_key, other, other)
    ]
    assert statuses == [202, 202, 429]
    # Another address is counted apart.
    elsewhere = Client(
        headers={"Authorization": f"Bearer {other}"}, REMOTE_ADDR="10.0.0.9"
    ).post("/api/v1/systems/fraud/samples/", _batch(recent), "application/json")
    assert elsewhere.status_code == 202


def test_login_attempts_are_limited_per_user_name(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-username": "3/300"}
    get_user_model().objects.create_user("ana", password="right-horse-battery")
    client = Client()
    for _ in range(3):
        wrong = client.post("/accounts/login/", {"username": "ana", "password": "x"})
        assert wrong.status_code == 200
    limited = client.post(
        "/accounts/login/", {"username": "Ana", "password": "right-horse-battery"}
    )
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 301
    content = limited.content.decode()
    assert "Too many attempts to log in" in content
    assert 'value="Ana"' in content
    assert "_auth_user_id" not in client.session


def test_login_attempts_are_limited_per_address(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "2/300"}
    client = Client()
    for name in ("a", "b"):
        assert (
            client.post(
                "/accounts/login/", {"username": name, "password": "x"}
            ).status_code
            == 200
        )
    assert (
        client.post("/accounts/login/", {"username": "c", "password": "x"}).status_code
        == 429
    )


@pytest.mark.parametrize(
    ("proxies", "chains", "statuses"),
    [
        # The trusted proxy's entry counts: what a client writes left of it
        # changes nothing, and another client behind it is not locked out.
        (
            1,
            [
                "1.1.1.1, 203.0.113.7",
                "2.2.2.2, 203.0.113.7",
                "203.0.113.7",
                "198.51.100.4",
            ],
            [200, 200, 429, 200],
        ),
        # No proxy trusted: every request came from 10.0.0.2, whatever it says.
        (0, ["203.0.113.7", "198.51.100.4", "192.0.2.1"], [200, 200, 429]),
    ],
    ids=["one trusted proxy", "no trusted proxy"],
)
def test_limits_per_address_count_the_client_behind_trusted_proxies(
    db, settings, proxies, chains, statuses
):
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "2/300"}
    answered = [
        Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=chain)
        .post("/accounts/login/", {"username": "a", "password": "x"})
        .status_code
        for chain in chains
    ]
    assert answered == statuses


def test_a_window_ends_and_counting_starts_again(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "1/60"}
    ratelimit.hit_all([("login-address", "1.2.3.4")], now=120.0)
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.hit_all([("login-address", "1.2.3.4")], now=150.5)
    assert limited.value.retry_after == 30
    ratelimit.hit_all([("login-address", "1.2.3.4")], now=180.0)


REDIS = os.environ.get("CELERY_BROKER_URL", "")


@pytest.mark.skipif(
    not REDIS.startswith("redis://"), reason="needs Redis (CELERY_BROKER_URL)"
)
def test_counters_are_shared_between_processes_through_redis(db, settings):
    """Two processes with CACHE_URL on the same Redis see one count."""
    url = REDIS.rsplit("/", 1)[0] + "/11"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
        }
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest-key": "3/3600"}
    from django.core.cache import caches

    caches["default"].clear()
    script = (
        "import django; django.setup();"
        "from toc.lib import ratelimit;"
        "[ratelimit.hit_all([('ingest-key', 'shared')]) for _ in range(3)]"
    )
    env = {
        **os.environ,
        "CACHE_URL": url,
        "RATE_LIMIT_INGEST_KEY": "3/3600",
        "DJANGO_SETTINGS_MODULE": "toc.settings",
    }
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_all([("ingest-key", "shared")])
    caches["default"].clear()


def test_an_unreachable_cache_lets_requests_through(db, settings, caplog):
    """Fail open: a Redis outage must not stop pipelines from posting."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on port 9
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest-key": "1/60"}
    for _ in range(3):
        ratelimit.hit_all([("ingest-key", "anyone")])
    assert "the cache is unavailable" in caplog.text


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_one_call_counts_every_scope_and_waits_for_the_longest(
    db, settings, backend
) -> None:
    if backend == "redis":
        if not REDIS.startswith("redis://"):
            pytest.skip("needs Redis (CELERY_BROKER_URL)")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS.rsplit("/", 1)[0] + "/11",
            }
        }
    from django.core.cache import caches

    caches["default"].clear()
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "login-address": "1/60",
        "login-username": "1/3600",
    }
    both = [("login-address", "1.2.3.4"), ("login-username", "ada")]
    ratelimit.hit_all(both, now=7200.0)
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.hit_all(both, now=7230.0)
    # The hour's window ends at 10800 s: 3570 s on, plus the second rounding up.
    assert limited.value.retry_after == 3571
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_all([("login-username", "ada")], now=7290.0)
    ratelimit.hit_all([("login-address", "1.2.3.4")], now=7290.0)
    caches["default"].clear()
