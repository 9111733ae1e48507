"""Requests that race each other, as a double click or two people at once do.

Each request runs in a thread of its own, with its own connection to
PostgreSQL, and a barrier releases them together, so that they read before any
of them has written. Nothing of the database is mocked: its locks and unique
constraints are what these tests are about. Each test asserts what the people
see (no 500, the usual field error) and what is stored afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client

# As many requests as a burst of clicks or a script's retries send at once.
AT_ONCE = 8


@pytest.fixture(autouse=True)
def on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Races need PostgreSQL: SQLite lets one writer in at a time.")


def at_once(requests: list[Callable[[], HttpResponse]]) -> list[HttpResponse]:
    """Sends the requests together, each from its own thread and connection;
    their responses in the same order."""
    start = threading.Barrier(len(requests))
    responses: list[HttpResponse | None] = [None] * len(requests)

    def send(index: int, request: Callable[[], HttpResponse]) -> None:
        try:
            start.wait(timeout=30)
            responses[index] = request()
        finally:
            connection.close()  # the thread's own; the test database is dropped later

    threads = [
        threading.Thread(target=send, args=(index, request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never ended"
    assert all(response is not None for response in responses), "a request failed"
    return responses


def meet_after(monkeypatch, owner: object, name: str, parties: int) -> None:
    """Holds each of `parties` threads after its first call of `owner.name`
    until all have made it: the requests all check (a form sees a name free)
    before any of them writes, every time rather than most times.

    Should one never get there (its request refused before the check), the
    others go on after a few seconds.
    """
    original = getattr(owner, name)
    meeting = threading.Barrier(parties)
    arrived = threading.local()

    def then_meet(*args, **kwargs):
        result = original(*args, **kwargs)
        if not getattr(arrived, "once", False):
            arrived.once = True
            with suppress(threading.BrokenBarrierError):
                meeting.wait(timeout=3)
        return result

    monkeypatch.setattr(owner, name, then_meet)


def browser_of(client: Client) -> Client:
    """Another tab of the same browser session: its cookies, and a 500 is
    answered as the server answers it rather than raised in the test."""
    tab = Client(raise_request_exception=False)
    for name, morsel in client.cookies.items():
        tab.cookies[name] = morsel.value
    return tab


def signed_in(user) -> Client:
    """A browser of `user`'s, answering a 500 as the server answers it."""
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    return browser


def api_client(token: str) -> Client:
    return Client(
        headers={"Authorization": f"Bearer {token}"}, raise_request_exception=False
    )


def statuses(responses: list[HttpResponse]) -> list[int]:
    return sorted(response.status_code for response in responses)


def field_errors(response: HttpResponse) -> set[str | None]:
    """The fields an API error response names."""
    return {error["field"] for error in response.json()["errors"]}
