"""A person changes their password in the browser, with the keyboard."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import ApiTokenFactory
from toc.accounts.models import ApiToken
from toc.demo.loader import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "correct horse battery 42"


def _log_in(page, live_server, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def test_a_password_change_keeps_what_was_typed_and_can_revoke_tokens(
    page, live_server
) -> None:
    demo_load(history=False)
    ApiTokenFactory(user=get_user_model().objects.get(username="demo"))
    _log_in(page, live_server, "demo")
    page.wait_for_url(f"{live_server.url}/systems/")

    page.get_by_role("link", name="Password").click()
    page.get_by_label("Old password").fill("not it")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_label("Also revoke my API tokens").check()
    page.get_by_label("New password confirmation").press("Enter")

    old = page.get_by_label("Old password")
    expect(old).to_have_attribute("aria-invalid", "true")
    error = page.locator("#id_old_password_error")
    expect(error).to_be_visible()
    assert "id_old_password_error" in old.get_attribute("aria-describedby")
    expect(page.get_by_label("Also revoke my API tokens")).to_be_checked()
    screenshot(page, "password-change-error")

    old.fill("demo")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").press("Enter")
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    screenshot(page, "password-changed")
    assert not ApiToken.objects.exists()

    page.context.clear_cookies()
    _log_in(page, live_server, NEW_PASSWORD)
    page.wait_for_url(f"{live_server.url}/systems/")
    assert page.problems == [], "\n".join(page.problems)
