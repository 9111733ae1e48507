"""Fixed-window rate limits kept in Django's cache.

With `CACHE_URL` pointing at Redis every process (gunicorn workers, several
hosts) counts in the same place; without it each process counts on its own,
which is enough for the embedded single-process default.

A window is `period` seconds long and aligned to the clock, so its counter's
key names the window and expires with it: no cleanup, and one INCR per check.
What should count only once it has happened (a failed login) is checked
first (check_all) and counted afterwards (count_all).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Limit:
        """ "600/60" → 600 requests per 60 seconds."""
        requests, _, period = text.partition("/")
        return cls(int(requests), int(period or 60))


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after} s")
        self.retry_after = retry_after

    @property
    def wait_in_words(self) -> str:
        """The wait as a page says it: seconds under two minutes, else minutes."""
        if self.retry_after == 1:
            return "1 second"
        if self.retry_after < 120:
            return f"{self.retry_after} seconds"
        return f"{math.ceil(self.retry_after / 60)} minutes"


@dataclass(frozen=True, slots=True)
class _Window:
    limit: Limit
    index: int  # windows since the epoch
    key: str

    def wait(self, now: float) -> int:
        """Whole seconds until the window ends, rounded up, at least one."""
        return max(1, int((self.index + 1) * self.limit.period - now) + 1)


def _windows(counted: list[tuple[str, str]], now: float) -> list[_Window]:
    windows = []
    for scope, who in counted:
        limit = Limit.parse(settings.RATE_LIMITS[scope])
        index = int(now // limit.period)
        windows.append(_Window(limit, index, f"ratelimit:{scope}:{who}:{index}"))
    return windows


def _raise_if_past(windows: list[_Window], counts: list[int], now: float) -> None:
    waits = [
        window.wait(now)
        for window, count in zip(windows, counts, strict=True)
        if count > window.limit.requests
    ]
    if waits:
        raise RateLimited(max(waits))


def _cache_unavailable(counted: list[tuple[str, str]]) -> None:
    # Fail open: a cache outage must not stop pipelines from posting, nor
    # people from logging in.
    scopes = ", ".join(scope for scope, _ in counted)
    logger.warning("rate limits %s not counted: the cache is unavailable", scopes)


def hit_all(counted: list[tuple[str, str]], *, now: float | None = None) -> None:
    """Counts one request in each (scope, who) of `counted`: `who` is a key id,
    an address or a user name, `scope` a key of settings.RATE_LIMITS. All in
    one round trip to Redis; raises RateLimited, with the longest wait, if any
    is past its limit."""
    now = time.time() if now is None else now
    windows = _windows(counted, now)
    try:
        counts = _count_all([(w.key, w.limit.period + 1) for w in windows])
    except RedisError:
        _cache_unavailable(counted)
        return
    _raise_if_past(windows, counts, now)


def check_all(counted: list[tuple[str, str]], *, now: float | None = None) -> None:
    """Raises RateLimited, as hit_all would, if one more in any (scope, who) of
    `counted` would be past its limit; counts nothing. With count_all, for
    limits on what is counted only once it has happened (a failed login)."""
    now = time.time() if now is None else now
    windows = _windows(counted, now)
    try:
        # One MGET on Redis; the counters are plain integers on both backends.
        stored = caches["default"].get_many([w.key for w in windows])
    except RedisError:
        _cache_unavailable(counted)
        return
    _raise_if_past(windows, [stored.get(w.key, 0) + 1 for w in windows], now)


def count_all(counted: list[tuple[str, str]], *, now: float | None = None) -> None:
    """Counts one in each (scope, who) of `counted`, refusing nothing."""
    now = time.time() if now is None else now
    windows = _windows(counted, now)
    try:
        _count_all([(w.key, w.limit.period + 1) for w in windows])
    except RedisError:
        _cache_unavailable(counted)


def forget_all(counted: list[tuple[str, str]], *, now: float | None = None) -> None:
    """Starts the current window of each (scope, who) of `counted` from zero."""
    now = time.time() if now is None else now
    try:
        caches["default"].delete_many([w.key for w in _windows(counted, now)])
    except RedisError:
        _cache_unavailable(counted)


def _count_all(keys: list[tuple[str, int]]) -> list[int]:
    """Each key's count after adding one; a new key expires after its timeout."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # Django's add and incr take three round trips a counter (incr checks
        # that the key exists first); a pipeline takes one for them all.
        pipeline = backend._cache.get_client(write=True).pipeline(transaction=False)
        for key, timeout in keys:
            stored = backend.make_and_validate_key(key)
            pipeline.set(stored, 0, ex=timeout, nx=True)
            pipeline.incr(stored)
        return pipeline.execute()[1::2]
    return [_count(backend, key, timeout) for key, timeout in keys]


def _count(backend: BaseCache, key: str, timeout: int) -> int:
    # add() is a no-op when the key exists, so concurrent first hits both count.
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # expired between add() and incr()
        backend.add(key, 1, timeout=timeout)
        return 1


def client_address(request: HttpRequest) -> str:
    """The address the request came from.

    With TRUSTED_PROXY_COUNT = N proxies in front, it is the Nth address from
    the right of X-Forwarded-For: each proxy appends the address it saw, so
    that one was written by the first proxy, and those left of it by whoever
    sent the request. Without proxies, or a header shorter than N (a request
    that went round them), it is REMOTE_ADDR.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [
            address.strip() for address in forwarded.split(",") if address.strip()
        ]
        if len(addresses) >= proxies:
            return addresses[-proxies]
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote or "unknown"


def client_network(request: HttpRequest) -> str:
    """client_address, widened to its /64 for IPv6: a host is often given a
    whole /64 and may take any address in it, so one address counts as little."""
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return address
    if ip.ipv4_mapped:  # an IPv4 client of a dual-stack listener
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, 64), strict=False))
