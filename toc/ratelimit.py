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
from django.core.cache import cache
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


def hit(scope: str, who: str, *, now: float | None = None) -> None:
    """Counts one request of `who` (a key id, an address, a user name) in `scope`
    (a key of settings.RATE_LIMITS); raises RateLimited past the limit."""
    limit = Limit.parse(settings.RATE_LIMITS[scope])
    now = time.time() if now is None else now
    window = int(now // limit.period)
    key = f"ratelimit:{scope}:{who}:{window}"
    try:
        count = _count(key, limit.period + 1)
    except RedisError:
        # Fail open: a cache outage must not stop pipelines from posting.
        logger.warning("rate limit %s not counted: the cache is unavailable", scope)
        return
    if count > limit.requests:
        raise RateLimited(max(1, int((window + 1) * limit.period - now) + 1))


def _count(key: str, timeout: int) -> int:
    # add() is a no-op when the key exists, so concurrent first hits both count.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=timeout)
        return 1


def client_address(request) -> str:
    """The address the request came from, as the server saw it.

    Behind a proxy this is the proxy's unless the server is told otherwise
    (gunicorn's `--forwarded-allow-ips` with a proxy that sets REMOTE_ADDR).
    """
    return request.META.get("REMOTE_ADDR") or "unknown"
