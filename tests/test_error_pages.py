"""What a browser gets for a page that does not exist and for a server error:
pages in the site's look that say what happened and lead back."""

from __future__ import annotations

import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from toc.urls import urlpatterns as site_urlpatterns


def _fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a view that fails")


# The site's routes and one that fails, for the 500 tests (this module is
# their URLconf through pytest.mark.urls).
urlpatterns = [
    *site_urlpatterns,
    path("fails/", _fails),
    path("api/v1/fails/", _fails),
]
handler404 = "toc.api.errors.page_not_found"
handler500 = "toc.api.errors.server_error"


def test_a_missing_page_is_a_page_of_the_site_with_a_way_home(personas):
    response = personas.owner.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is no page here" in body
    assert 'href="/systems/"' in body
    assert 'class="topbar"' in body
    assert "/no-such-page/" in body
    # The top bar as on every page, the API's docs included.
    assert re.search(r'<a href="/api/docs/"[^>]*>API docs</a>', body)


def test_a_missing_page_offers_the_login_to_a_visitor(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'href="/accounts/login/"' in response.content.decode()


def test_an_api_route_that_does_not_exist_still_answers_json(client, db):
    response = client.get("/api/v1/no-such-route/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"].startswith("No such API route")


@pytest.mark.urls("tests.test_error_pages")
def test_a_server_error_is_a_page_that_says_so_and_leads_back(client, db):
    client.raise_request_exception = False
    response = client.get("/fails/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "/static/css/toc.css" in body
    assert 'href="/systems/"' in body
    assert 'href="/accounts/login/"' in body


@pytest.mark.urls("tests.test_error_pages")
def test_a_server_error_under_the_api_answers_json(client, db):
    client.raise_request_exception = False
    response = client.get("/api/v1/fails/")
    assert response.status_code == 500
    assert response.json() == {
        "errors": [{"field": None, "message": "Server error; it has been logged."}]
    }
