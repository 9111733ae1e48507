"""An admin invites someone, who joins by the link with an account of their own."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import MembershipFactory
from toc.accounts.models import Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery 42"


def test_an_invitation_from_the_team_page_to_the_team(page, live_server) -> None:
    admin = MembershipFactory(
        role=Role.ADMIN, user__username="ada", team__name="Fraud ops"
    )
    team_url = f"{live_server.url}/teams/{admin.team.slug}/"
    page.goto(f"{live_server.url}/accounts/login/?next=/teams/{admin.team.slug}/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("password")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(team_url)

    invitations = page.get_by_role("region", name="Invitations")
    invitations.get_by_label("Email").fill("dana@example.com")
    invitations.get_by_label("Role").select_option("editor")
    invitations.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Invited dana@example.com as editor")).to_be_visible()
    link = page.get_by_label("Invitation link").input_value()
    assert link.startswith(f"{live_server.url}/invitations/tocinv_")
    [message] = mail.outbox
    assert link in message.body
    expect(
        invitations.get_by_role("cell", name="dana@example.com", exact=True)
    ).to_be_visible()
    screenshot(page, "invitation-made")
    page.reload()
    expect(page.get_by_label("Invitation link")).to_have_count(0)

    page.context.clear_cookies()
    page.goto(link)
    expect(
        page.get_by_text("You are invited to Fraud ops as an editor")
    ).to_be_visible()
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill("not the same")
    page.get_by_role("button", name="Join Fraud ops").click()
    expect(page.locator(".field__error")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("dana")
    screenshot(page, "invitation-join-error")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Join Fraud ops").click()

    page.wait_for_url(team_url)
    expect(page.get_by_text("Welcome to Fraud ops: you are an editor.")).to_be_visible()
    expect(page.get_by_text("dana (you)")).to_be_visible()
    screenshot(page, "invitation-joined")
    assert Membership.objects.get(user__username="dana").role == Role.EDITOR

    assert page.problems == [], "\n".join(page.problems)

    # Once more: the link has been used (a 410, which the console reports).
    page.goto(link)
    expect(
        page.get_by_role("heading", name="This invitation was already used")
    ).to_be_visible()
