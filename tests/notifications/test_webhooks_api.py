"""/api/v1/teams/{team}/webhooks/: admins add, list, read and remove a team's
webhooks and read each one's deliveries; the secret is in the creating answer
only; other roles get 403, another team's webhooks are 404s."""

from __future__ import annotations

import json

import pytest

from toc.notifications import tasks
from toc.notifications.models import Webhook

BODY = {"url": "https://hooks.example.com/toc", "events": ["constraint.moved"]}


def _post(client, team_slug: str, body: dict):
    return client.post(
        f"/api/v1/teams/{team_slug}/webhooks/",
        json.dumps(body),
        content_type="application/json",
    )


def test_an_admin_adds_a_webhook_and_gets_its_secret_once(personas):
    slug = personas.team.slug
    response = _post(personas.owner, slug, BODY)

    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["url"] == BODY["url"]
    assert created["events"] == ["constraint.moved"]
    assert "no-store" in response.headers["Cache-Control"]
    webhook = Webhook.objects.get()
    assert webhook.secret() == created["secret"]
    assert created["secret"] not in webhook.sealed_secret

    listed = personas.owner.get(f"/api/v1/teams/{slug}/webhooks/").json()
    assert [w["id"] for w in listed["results"]] == [webhook.pk]
    assert "secret" not in listed["results"][0]
    one = personas.owner.get(f"/api/v1/teams/{slug}/webhooks/{webhook.pk}/").json()
    assert "secret" not in one


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**BODY, "url": "ftp://example.com/x"}, "url", "http:// or https://"),
        ({**BODY, "url": "file:///etc/passwd"}, "url", "http:// or https://"),
        ({**BODY, "events": []}, "events", "at least one"),
        ({**BODY, "events": ["constraint.flew"]}, "events", "is not an event"),
        ({**BODY, "events": "constraint.moved"}, "events", "Send a list"),
        ({**BODY, "secret": "mine"}, "secret", "Unknown field"),
    ],
)
def test_a_bad_webhook_is_refused_in_words(personas, body, field, words):
    response = _post(personas.owner, personas.team.slug, body)
    assert response.status_code == 400
    said = [e["message"] for e in response.json()["errors"] if e["field"] == field]
    assert words in " ".join(said)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("who", ["teammate", "viewer"])
def test_only_admins_manage_webhooks(personas, who):
    client = getattr(personas, who)
    slug = personas.team.slug
    assert _post(client, slug, BODY).status_code == 403
    assert client.get(f"/api/v1/teams/{slug}/webhooks/").status_code == 403
    assert not Webhook.objects.exists()


def test_another_teams_webhooks_are_not_found(personas):
    slug = personas.team.slug
    webhook_id = _post(personas.owner, slug, BODY).json()["id"]
    outsider = personas.outsider
    assert _post(outsider, slug, BODY).status_code == 404
    assert outsider.get(f"/api/v1/teams/{slug}/webhooks/").status_code == 404
    for path in [f"{webhook_id}/", f"{webhook_id}/deliveries/"]:
        url = f"/api/v1/teams/{slug}/webhooks/{path}"
        assert outsider.get(url).status_code == 404
    assert (
        outsider.delete(f"/api/v1/teams/{slug}/webhooks/{webhook_id}/").status_code
        == 404
    )
    # Nor through the outsider's own team's address.
    other = outsider.get("/api/v1/teams/").json()["results"][0]["slug"]
    url = f"/api/v1/teams/{other}/webhooks/{webhook_id}/"
    assert outsider.get(url).status_code == 404
    assert outsider.delete(url).status_code == 404
    assert Webhook.objects.filter(pk=webhook_id).exists()


def test_an_admin_removes_a_webhook(personas):
    slug = personas.team.slug
    webhook_id = _post(personas.owner, slug, BODY).json()["id"]
    response = personas.owner.delete(f"/api/v1/teams/{slug}/webhooks/{webhook_id}/")
    assert response.status_code == 204
    assert not Webhook.objects.exists()


def test_the_delivery_log_tells_each_attempt_and_its_answer(personas, receiver, moved):
    slug = personas.team.slug
    webhook_id = _post(personas.owner, slug, {**BODY, "url": receiver.url}).json()["id"]
    receiver.answers = [500, 500, 200]
    moved()
    tasks.scan()

    log = personas.owner.get(
        f"/api/v1/teams/{slug}/webhooks/{webhook_id}/deliveries/"
    ).json()

    [delivery] = log["results"]
    assert delivery["event"] == "constraint.moved"
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert delivery["attempt_log"][0]["response"] == "receiver is unwell"


def test_a_webhook_may_wait_for_slos_burning(personas):
    response = _post(
        personas.owner, personas.team.slug, {**BODY, "events": ["slo.burning"]}
    )
    assert response.status_code == 201, response.json()
    assert Webhook.objects.get().events == ["slo.burning"]
