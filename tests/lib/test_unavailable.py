from __future__ import annotations

import json

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import OperationalError
from django.test import Client, RequestFactory

from tests.database import database_unreachable
from tests.factories import ApiTokenFactory
from tests.metrics.samples import sample
from toc.accounts.models import Membership
from toc.lib.unavailable import DatabaseUnavailableMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_page_is_a_short_503_page_with_retry_after(personas) -> None:
    with database_unreachable():
        response = personas.owner.get("/systems/fraud/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response["Content-Type"].startswith("text/html")
    assert b"unreachable" in response.content


def test_the_api_is_a_json_503_with_retry_after(personas) -> None:
    user = Membership.objects.filter(team=personas.team).first().user
    token = ApiTokenFactory(user=user, name="script").plaintext
    with database_unreachable():
        response = Client().get(
            "/api/v1/systems/", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response.json()["errors"][0]["message"]


def test_a_post_of_samples_is_a_503_not_a_400(personas, ingest_key, recent) -> None:
    with database_unreachable():
        response = Client().post(
            "/api/v1/systems/fraud/samples/",
            json.dumps({"samples": [sample("ingest", recent)]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {ingest_key}"},
        )
    assert response.status_code == 503


def test_a_failure_after_the_view_is_a_503_too(personas, monkeypatch) -> None:
    # Another middleware (here: saving the session) fails on the way out.
    def fail(self, request, response):
        raise OperationalError("the database went away")

    monkeypatch.setattr(SessionMiddleware, "process_response", fail)
    response = Client(raise_request_exception=False).get("/accounts/login/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()


def test_healthz_keeps_its_own_503(db) -> None:
    with database_unreachable():
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_other_errors_are_left_alone() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/systems/")
    assert middleware.process_exception(request, ValueError("a bug")) is None
