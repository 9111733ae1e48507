"""CSRF is enforced on every unsafe route a session can reach, htmx's included.

The routes come from the resolver (tests/security/routes.py), so a route added
later is walked too. Each POST is made as the demo's team admin (a superuser,
so that Django's admin views run as well) by a client that checks CSRF as a
browser's would: without the token it must be refused, with the token sent the
way htmx sends it (the `X-CSRFToken` header from <body hx-headers>) it must not.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from django.db import transaction
from django.test import Client

from tests.factories import ApiTokenFactory, IngestKeyFactory
from tests.security.routes import DemoValues, Route, all_routes
from toc.demo.loader import demo_load

pytestmark = pytest.mark.django_db

HX_HEADERS = re.compile(r"<body hx-headers='([^']*)'")
UNSAFE = ("post", "put", "patch", "delete")
# Logging out ends the session the walk relies on: it goes last.
ROUTES = sorted(all_routes(), key=lambda r: r.route.endswith("logout/"))


@pytest.fixture
def demo():
    system = demo_load(history=False)
    user = system.team.memberships.get().user
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    IngestKeyFactory(system=system, name="walk")
    ApiTokenFactory(user=user, name="walk")
    return DemoValues.of(system, user), user


def _client(user) -> Client:
    # A server error is an answer here (reported, not raised): this walk is
    # about CSRF, and the isolation walk owns what each view then does.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    return client


def _token_as_htmx_sends_it(client: Client) -> dict[str, str]:
    """The headers htmx adds to every request, read from the page's <body>."""
    page = client.get("/systems/")
    assert page.status_code == 200
    headers = json.loads(HX_HEADERS.search(page.text).group(1))
    assert set(headers) == {"X-CSRFToken"}
    return {**headers, "HX-Request": "true"}


def _is_csrf_refusal(response) -> bool:
    if response.status_code != 403:
        return False
    body = response.content.decode(errors="replace")
    return "CSRF verification failed" in body or "CSRF Failed" in body


def _methods(route: Route) -> tuple[str, ...]:
    view = getattr(route.callback, "cls", None) or getattr(
        route.callback, "view_class", None
    )
    if view is None:
        return ("post",)  # a function view: the middleware refuses before it runs
    return tuple(m for m in UNSAFE if hasattr(view, m)) or ("post",)


def _walk(routes: list[Route], values: DemoValues, user) -> dict:
    refused, accepted, problems = Counter(), Counter(), []
    requests = 0
    for route in routes:
        url = route.url(values.fillings(route)[0]) if values.fillings(route) else None
        if url is None:
            problems.append(f"{route.route}: no values to fill it with")
            continue
        for method in _methods(route):
            # Each request in a savepoint that is rolled back: a delete or a
            # logout must not change what the next route sees.
            with transaction.atomic():
                client = _client(user)
                htmx = _token_as_htmx_sends_it(client)
                send = getattr(client, method)
                # The API reads JSON only (a form post is refused with 415
                # before anything else happens), so it gets JSON.
                body = {"data": "{}", "content_type": "application/json"}
                body = body if route.is_api else {}
                without = send(url, **body, headers={"HX-Request": "true"})
                with_token = send(url, **body, headers=htmx)
                transaction.set_rollback(True)
            requests += 1
            label = f"{method.upper()} {url}"
            if _is_csrf_refusal(without) or (
                # The docs page renders errors as bare text; the token is the
                # only difference between the two requests.
                without.status_code == 403 and with_token.status_code != 403
            ):
                refused[without.status_code] += 1
            elif route.is_api and without.status_code in (401, 415):
                # Refused before CSRF is even looked at: the route takes no
                # session (401), or reads no form body, so the CSRF check cannot
                # read one either (415: sample ingest parses its own body).
                refused[without.status_code] += 1
            else:
                problems.append(
                    f"{label} without a token: {without.status_code} "
                    f"{without.content[:300]!r}"
                )
            if _is_csrf_refusal(with_token):
                problems.append(f"{label} with the token: refused as CSRF")
            else:
                accepted[with_token.status_code] += 1
                if with_token.status_code >= 500:
                    print(f"\n{label} with the token: {with_token.status_code}")
    return {
        "requests": requests,
        "refused": refused,
        "accepted": accepted,
        "problems": problems,
    }


def test_every_unsafe_html_route_needs_the_csrf_token(demo) -> None:
    values, user = demo
    html = [r for r in ROUTES if not r.is_api]
    result = _walk(html, values, user)
    assert result["problems"] == [], "\n".join(result["problems"])
    assert sum(result["refused"].values()) == result["requests"] >= len(html)
    print(
        f"\nHTML routes walked: {len(html)} ({result['requests']} requests); "
        f"with the token: {dict(result['accepted'])}"
    )


def test_session_authenticated_api_writes_need_the_csrf_token(demo) -> None:
    values, user = demo
    api = [r for r in ROUTES if r.is_api]
    result = _walk(api, values, user)
    assert result["problems"] == [], "\n".join(result["problems"])
    print(
        f"\nAPI routes walked: {len(api)} ({result['requests']} requests); "
        f"without the token: {dict(result['refused'])}; "
        f"with it: {dict(result['accepted'])}"
    )


def test_no_html_view_opts_out_of_csrf() -> None:
    # DRF's views are marked exempt and enforce CSRF themselves for sessions
    # (SessionAuthentication), which the API walk above checks.
    exempt = [
        r.route
        for r in ROUTES
        if getattr(r.callback, "csrf_exempt", False) and not hasattr(r.callback, "cls")
    ]
    assert exempt == []


def test_the_csrf_cookie_is_not_the_only_copy_htmx_needs() -> None:
    from django.conf import settings

    # htmx reads the token from the page, so the cookie can stay away from
    # scripts; a session cookie never reaches them.
    assert settings.SESSION_COOKIE_HTTPONLY is True
