"""The notifications page in a real browser: an admin adds a webhook, copies
its secret from the page, and chooses their own mail."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import page, screenshot  # noqa: F401 (the fixture)
from tests.factories import MembershipFactory
from toc.accounts.models import Role
from toc.notifications.models import EmailChoice, Webhook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_a_webhook_and_chooses_mail(page, live_server):  # noqa: F811
    user = get_user_model().objects.create_user(
        "ana", "ana@example.com", "a-long-password"
    )
    team = MembershipFactory(user=user, role=Role.ADMIN).team
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/teams/{team.slug}/")
    page.click("text=Notifications")

    page.fill("#id_webhook_url", "https://hooks.example.com/toc")
    page.check("#id_webhook_events_0")
    page.check("#id_webhook_events_1")
    page.click("text=Add webhook")

    secret = page.text_content("#new-secret")
    assert Webhook.objects.get().secret() == secret
    page.check("#id_email_events_0")
    page.click("text=Save my choice")
    assert page.is_checked("#id_email_events_0")
    assert EmailChoice.objects.get().events == ["constraint.moved"]
    page.goto(page.url)  # the secret is not shown again
    assert page.locator("#new-secret").count() == 0
    screenshot(page, "notifications-team-page")
    assert page.problems == []
