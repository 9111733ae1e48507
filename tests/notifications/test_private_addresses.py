"""Outside development, webhooks post to public addresses only: a team admin
cannot make toc read an internal service (or the cloud's metadata address)
into the delivery log."""

from __future__ import annotations

import json

import pytest

from toc.notifications import services, tasks
from toc.notifications.models import Delivery, DeliveryStatus, EventKind, Webhook


@pytest.fixture(autouse=True)
def public_only(settings) -> None:
    settings.NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
    ],
)
def test_a_private_address_is_refused_when_the_webhook_is_added(personas, url):
    response = personas.owner.post(
        f"/api/v1/teams/{personas.team.slug}/webhooks/",
        json.dumps({"url": url, "events": ["constraint.moved"]}),
        content_type="application/json",
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert "not a public address" in error["message"]
    assert not Webhook.objects.exists()


def test_a_webhook_made_before_is_refused_at_each_send(
    settings, personas, admin_user, receiver, moved
):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES = True
    services.webhook_create(
        team=personas.team,
        url=receiver.url,
        events=[EventKind.CONSTRAINT_MOVED],
        created_by=admin_user,
    )
    settings.NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES = False
    moved()

    tasks.scan()

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "not a public address" in delivery.attempt_log.first().error
