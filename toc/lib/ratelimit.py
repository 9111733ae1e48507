"""Fixed-window rate limits kept in Django's cache.

With `CACHE_URL` pointing at Redis every process (gunicorn workers, several
hosts) counts in the same place; without it each process counts on its own,
which is enough for the embedded single-process default.

A window is `period` seconds long and aligned to the clock, so its counter's
key names the window and expires with it: no cleanup, and one INCR per check.
"""

from __future__ import annotations

import logging
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


def hit_all(counted: list[tuple[str, str]], *, now: float | None = None) -> None:
    """Counts one request in each (scope, who) of `counted`: `who` is a key id,
    an address or a user name, `scope` a key of settings.RATE_LIMITS. All in
    one round trip to Redis; raises RateLimited, with the longest wait, if any
    is past its limit."""
    now = time.time() if now is None else now
    windows = []
    for scope, who in counted:
        limit = Limit.parse(settings.RATE_LIMITS[scope])
        window = int(now // limit.period)
        windows.append((limit, window, f"ratelimit:{scope}:{who}:{window}"))
    try:
        counts = _count_all([(key, limit.period + 1) for limit, _, key in windows])
    except RedisError:
        # Fail open: a cache outage must not stop pipelines from posting.
        scopes = ", ".join(scope for scope, _ in counted)
        logger.warning("rate limits %s not counted: the cache is unavailable", scopes)
        return
    waits = [
        max(1, int((window + 1) * limit.period - now) + 1)
        for (limit, window, _), count in zip(windows, counts, strict=True)
        if count > limit.requests
    ]
    if waits:
        raise RateLimited(max(waits))


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
