"""The team's notifications page: admins add and remove webhooks (the secret
shown once) and chat channels and read a webhook's deliveries; every member
chooses their own mail; nobody else sees any of it."""

from __future__ import annotations

import re

import pytest

from toc.accounts.models import Membership
from toc.notifications import services, tasks
from toc.notifications.models import ChatChannel, EmailChoice, EventKind, Webhook

NEW_SECRET = re.compile(r'id="new-secret">([^<]+)<')


def _page(personas) -> str:
    return f"/teams/{personas.team.slug}/notifications/"


def test_the_team_page_links_to_notifications(personas):
    page = personas.viewer.get(f"/teams/{personas.team.slug}/")
    assert _page(personas) in page.text


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(personas):
    response = personas.owner.post(
        _page(personas) + "webhooks/",
        {"url": "https://hooks.example.com/toc", "events": ["constraint.moved"]},
        follow=True,
    )
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    secret = NEW_SECRET.search(response.text).group(1)
    assert Webhook.objects.get().secret() == secret
    again = personas.owner.get(_page(personas))
    assert secret not in again.text
    assert "https://hooks.example.com/toc" in again.text


def test_a_bad_webhook_url_is_shown_with_its_message(personas):
    response = personas.owner.post(
        _page(personas) + "webhooks/",
        {"url": "gopher://example.com", "events": ["constraint.moved"]},
    )
    assert response.status_code == 200
    assert "Enter an http:// or https:// URL." in response.text
    assert not Webhook.objects.exists()


def test_an_admin_removes_a_webhook_after_confirming(personas):
    webhook, _ = services.webhook_create(
        team=personas.team,
        url="https://a.example/",
        events=["system.stale"],
        created_by=None,
    )
    url = _page(personas) + f"webhooks/{webhook.pk}/remove/"
    assert "Remove the webhook to https://a.example/?" in personas.owner.get(url).text
    assert personas.owner.post(url).status_code == 302
    assert not Webhook.objects.exists()


def test_the_deliveries_page_shows_each_attempt(personas, receiver, moved):
    webhook, _ = services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=EventKind.values,
        created_by=None,
    )
    receiver.answers = [500, 200]
    moved()
    tasks.scan()
    page = personas.owner.get(_page(personas) + f"webhooks/{webhook.pk}/")
    assert page.status_code == 200
    assert page.text.count("HTTP 500") == 1
    assert page.text.count("HTTP 200") == 1
    assert "Delivered" in page.text


def test_an_admin_adds_a_chat_channel_shown_masked(personas):
    response = personas.owner.post(
        _page(personas) + "chat/",
        {
            "url": "slack://xoxb-1234567890-abcdefghijklmnop/#toc",
            "events": ["constraint.moved"],
        },
        follow=True,
    )
    assert response.status_code == 200
    chat = ChatChannel.objects.get()
    assert chat.shown == "slack://x...p/%23toc/"
    assert chat.shown in response.text
    assert "abcdefghijklmnop" not in response.text


@pytest.mark.parametrize("who", ["owner", "teammate", "viewer"])
def test_each_member_chooses_their_own_mail(personas, who):
    client = getattr(personas, who)
    response = client.post(
        _page(personas) + "email/", {"events": ["system.stale", "constraint.moved"]}
    )
    assert response.status_code == 302
    [choice] = EmailChoice.objects.all()
    assert sorted(choice.events) == ["constraint.moved", "system.stale"]
    assert choice.membership.user_id == int(client.session["_auth_user_id"])
    page = client.get(_page(personas))
    assert 'value="system.stale" id="id_email_events_1" checked' in page.text


def test_mail_is_chosen_by_nobody_until_they_choose(personas):
    page = personas.viewer.get(_page(personas))
    assert page.status_code == 200
    assert "checked" not in page.text
    assert not EmailChoice.objects.exists()


@pytest.mark.parametrize("who", ["teammate", "viewer"])
def test_only_admins_see_and_manage_webhooks_and_chat(personas, who):
    client = getattr(personas, who)
    webhook, _ = services.webhook_create(
        team=personas.team,
        url="https://a.example/",
        events=["system.stale"],
        created_by=None,
    )
    page = client.get(_page(personas))
    assert "https://a.example/" not in page.text
    assert "Add a webhook" not in page.text
    base = _page(personas)
    body = {"url": "https://b.example/", "events": ["system.stale"]}
    assert client.post(base + "webhooks/", body).status_code == 403
    assert client.post(base + "chat/", body).status_code == 403
    assert client.get(base + f"webhooks/{webhook.pk}/").status_code == 403
    assert client.post(base + f"webhooks/{webhook.pk}/remove/").status_code == 403
    assert Webhook.objects.count() == 1


def test_an_outsider_finds_nothing(personas):
    webhook, _ = services.webhook_create(
        team=personas.team,
        url="https://a.example/",
        events=["system.stale"],
        created_by=None,
    )
    base = _page(personas)
    outsider = personas.outsider
    assert outsider.get(base).status_code == 404
    assert outsider.get(base + f"webhooks/{webhook.pk}/").status_code == 404
    assert outsider.post(base + f"webhooks/{webhook.pk}/remove/").status_code == 404
    assert outsider.post(base + "email/", {"events": []}).status_code == 404
    # Nor through the outsider's own team.
    mine = Membership.objects.exclude(team=personas.team).get().team.slug
    url = f"/teams/{mine}/notifications/webhooks/{webhook.pk}/remove/"
    assert outsider.post(url).status_code == 404
    assert Webhook.objects.exists()
