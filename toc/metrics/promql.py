"""Prometheus's HTTP API, asked and read as the pull and the PromQL SLOs need.

`api` posts one query and gives the answer's `data`; `one_series` and
`number` read it as a single series of numbers. Whatever goes wrong is a
PrometheusFailed in words, saying whether asking again may help.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import requests

# Seconds: to connect, and to wait for an answer (the callers tell Prometheus
# to give up a little sooner, so that a slow query says so itself).
CONNECT_TIMEOUT_S = 3.05
READ_TIMEOUT_S = 10


def url_problem(url: str) -> str | None:
    """What is wrong with a server's base URL, in words; None if nothing.

    Not Django's URLValidator: it refuses a host without a dot, and a
    Prometheus server is often `http://prometheus:9090` on the team's network.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a URL such as http://prometheus:9090."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter an http:// or https:// URL such as http://prometheus:9090."
    if parts.username or parts.password:
        # Every member of the team reads the URL.
        return "Leave the user name and password out of the URL."
    if parts.query or parts.fragment:
        return "Enter the server's base URL, without ? or #."
    if port == 0:
        return "Enter a port from 1 to 65535."
    return None


class PrometheusFailed(Exception):
    """A query that got no answer to use; `passing` if asking again may help,
    `unreachable` if no query would get one now (the server cannot be reached)."""

    def __init__(self, words: str, *, passing: bool, unreachable: bool = False) -> None:
        super().__init__(words)
        self.words = words
        self.passing = passing
        self.unreachable = unreachable


def api(session: requests.Session, base_url: str, path: str, params: dict) -> dict:
    """The `data` of a Prometheus API answer, or PrometheusFailed in words."""
    url = base_url.rstrip("/") + path
    try:
        response = session.post(
            url, data=params, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        )
    except requests.ConnectionError:  # a connection that timed out too
        raise PrometheusFailed(
            f"Could not connect to Prometheus at {base_url}: is the URL right "
            "and the server up?",
            passing=True,
            unreachable=True,
        ) from None
    except requests.Timeout:
        raise PrometheusFailed(
            f"Prometheus at {base_url} did not answer within {READ_TIMEOUT_S} s.",
            passing=True,
        ) from None
    except requests.RequestException as error:
        raise PrometheusFailed(
            f"Could not ask Prometheus at {base_url}: {type(error).__name__}.",
            passing=True,
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "status" not in answer:
        # Only words of our own: the URL may point at any server, and what it
        # says is not for the page to repeat.
        raise PrometheusFailed(
            f"{base_url} answered HTTP {response.status_code}, not as Prometheus "
            "answers; is this the server's base URL?",
            passing=response.status_code >= 500,
        )
    if answer["status"] != "success":
        reason = str(answer.get("error") or "no reason given")[:500]
        # 400 and 422: the expression is wrong; 503: it timed out or was
        # cancelled, which may pass.
        passing = response.status_code >= 500 or response.status_code == 429
        verb = "could not run" if passing else "refused"
        raise PrometheusFailed(
            f"Prometheus {verb} the query: {reason}", passing=passing
        )
    data = answer.get("data")
    if not isinstance(data, dict):
        raise PrometheusFailed("Prometheus answered without data.", passing=True)
    return data


def series_labels(series: dict) -> str:
    labels = series.get("metric") or {}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def one_series(data: dict) -> list:
    """The points of the answer's one series (none if it has none)."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return [result]
    if not isinstance(result, list):
        raise PrometheusFailed("Prometheus answered without a result.", passing=True)
    if len(result) > 1:
        raise PrometheusFailed(
            f"The query gives {len(result)} series (such as "
            f"{series_labels(result[0])}); wrap it in sum(…) or max(…) so "
            "that it gives one number.",
            passing=False,
        )
    if not result:
        return []
    series = result[0]
    if kind == "vector":
        return [series.get("value")]
    if kind == "matrix":
        return series.get("values") or []
    raise PrometheusFailed(f"The query gives a {kind}, not a number.", passing=False)


def number(raw: object) -> float | None:
    """A Prometheus value (a string) as a float; None for NaN, which is what
    a ratio or quantile gives when nothing happened (no requests, no events)."""
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value
