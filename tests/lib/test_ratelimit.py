from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.core.cache import caches
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
# The counters' own Redis database, on the broker's server: never CACHE_URL's,
# which these tests clear while other workers' login tests count in it.
REDIS_CACHE = REDIS.rsplit("/", 1)[0] + "/11"


@pytest.mark.skipif(
    not REDIS.startswith("redis://"), reason="needs Redis (CELERY_BROKER_URL)"
)
def test_counters_are_shared_between_processes_through_redis(db, settings):
    """Two processes with CACHE_URL on the same Redis see one count."""
    url = REDIS_CACHE
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
        }
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest-key": "3/3600"}
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
    """Fail open: a Redis outage must stop neither pipelines posting nor
    people logging in."""
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
        ratelimit.count_all([("ingest-key", "anyone")])
        ratelimit.check_all([("ingest-key", "anyone")])
    ratelimit.forget_all([("ingest-key", "anyone")])
    assert caplog.text.count("the cache is unavailable") == 10


@pytest.fixture(params=["locmem", "redis"])
def counters(request, settings) -> Iterator[None]:
    """Counters in this process's memory, or in a Redis database of their own."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    if request.param == "redis":
        if not REDIS.startswith("redis://"):
            pytest.skip("needs Redis (CELERY_BROKER_URL)")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_CACHE,
            }
        }
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_one_call_counts_every_scope_and_waits_for_the_longest(
    counters, settings
) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "login-address": "1/60",
        "login-name": "1/3600",
    }
    both = [("login-address", "1.2.3.4"), ("login-name", "ada")]
    ratelimit.hit_all(both, now=7200.0)
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.hit_all(both, now=7230.0)
    # The hour's window ends at 10800 s: 3570 s on, plus the second rounding up.
    assert limited.value.retry_after == 3571
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit_all([("login-name", "ada")], now=7290.0)
    ratelimit.hit_all([("login-address", "1.2.3.4")], now=7290.0)


def test_a_check_counts_nothing_and_refuses_once_the_window_is_used_up(
    counters, settings
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-name": "2/60"}
    ada = [("login-name", "ada")]
    for _ in range(5):
        ratelimit.check_all(ada, now=600.0)
    ratelimit.count_all(ada, now=600.0)
    ratelimit.check_all(ada, now=601.0)
    ratelimit.count_all(ada, now=602.0)
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.check_all(ada, now=610.0)
    assert limited.value.retry_after == 51
    # Counting refuses nothing, and the next window starts from zero.
    ratelimit.count_all(ada, now=611.0)
    ratelimit.check_all(ada, now=660.0)
    ratelimit.check_all([("login-name", "bob")], now=610.0)


def test_forgetting_starts_the_window_afresh_for_those_named_only(
    counters, settings
) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "login-name": "1/60",
        "login-address": "1/60",
    }
    both = [("login-name", "ada"), ("login-address", "1.2.3.4")]
    ratelimit.count_all(both, now=600.0)
    ratelimit.forget_all([("login-name", "ada")], now=610.0)
    ratelimit.check_all([("login-name", "ada")], now=620.0)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check_all([("login-address", "1.2.3.4")], now=620.0)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::99", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_ipv6_clients_count_by_their_64(rf, address, counted_as) -> None:
    assert ratelimit.client_network(rf.get("/", REMOTE_ADDR=address)) == counted_as


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (119, "119 seconds"), (120, "2 minutes"), (3571, "60 minutes")],
)
def test_a_wait_is_said_in_seconds_or_whole_minutes(seconds, words) -> None:
    assert ratelimit.RateLimited(seconds).wait_in_words == words
