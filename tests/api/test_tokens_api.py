"""Personal API tokens through the API: only ever the caller's own."""

from __future__ import annotations

from django.test import Client

from tests.api.clients import send, user_of
from tests.factories import ApiTokenFactory
from toc.accounts.models import ApiToken, Role

URL = "/api/v1/tokens/"


def test_a_new_token_is_shown_once_uncached_and_acts_as_its_maker(personas, editor):
    response = send(editor, "post", URL, {"name": "nightly export"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "nightly export"
    assert body["token"].startswith("tocpat_")
    assert body["token"].startswith(body["token_key"])
    assert "no-store" in response["Cache-Control"]

    new = Client(headers={"Authorization": f"Bearer {body['token']}"})
    teams = new.get("/api/v1/teams/").json()["results"]
    assert [(t["slug"], t["role"]) for t in teams] == [(personas.team.slug, "editor")]
    listed = editor.get(URL).json()["results"]
    assert body["token"] not in str(listed)
    assert listed[0] == {
        "name": "nightly export",
        "token_key": body["token_key"],
        "created": body["created"],
        "last_used": listed[0]["last_used"],
    }


def test_the_list_is_mine_newest_first(personas, editor):
    ApiTokenFactory(user=user_of(personas, Role.ADMIN), name="the admin's")
    send(editor, "post", URL, {"name": "later"})
    names = [t["name"] for t in editor.get(URL).json()["results"]]
    assert names == ["later", "t"]  # "t": the one this client sends


def test_a_name_is_required_and_checked_like_the_page(editor):
    response = send(editor, "post", URL, {"name": ""})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    response = send(editor, "post", URL, {"name": "x" * 101})
    assert response.json()["errors"][0]["field"] == "name"
    response = send(editor, "post", URL, {"name": "ok", "expiry": "never"})
    assert response.json()["errors"][0]["field"] == "expiry"
    assert ApiToken.objects.filter(name="ok").count() == 0


def test_a_revoked_token_is_refused_from_its_next_request(personas, editor):
    made = send(editor, "post", URL, {"name": "short-lived"}).json()
    doomed = Client(headers={"Authorization": f"Bearer {made['token']}"})
    assert doomed.get(URL).status_code == 200
    assert editor.delete(f"{URL}{made['token_key']}/").status_code == 204
    assert doomed.get(URL).status_code == 401
    assert editor.delete(f"{URL}{made['token_key']}/").status_code == 404


def test_a_token_may_revoke_itself(personas):
    token = ApiTokenFactory(user=user_of(personas, Role.VIEWER), name="self")
    client = Client(headers={"Authorization": f"Bearer {token.plaintext}"})
    assert client.delete(f"{URL}{token.token_key}/").status_code == 204
    assert client.get(URL).status_code == 401


def test_another_persons_token_is_a_404_and_stays(personas, editor):
    theirs = ApiTokenFactory(user=user_of(personas, Role.ADMIN), name="admin's")
    response = editor.delete(f"{URL}{theirs.token_key}/")
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_ingest_keys_and_strangers_get_no_tokens(ingest_key):
    key = Client(headers={"Authorization": f"Bearer {ingest_key}"})
    assert key.get(URL).status_code == 403
    assert send(key, "post", URL, {"name": "x"}).status_code == 403
    assert Client().get(URL).status_code == 401
