"""Single sign-on in a browser, against a real OpenID provider on localhost
(tests/oidc_provider.py): the button, the provider's page, and back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import InvitationFactory, MembershipFactory
from tests.oidc_provider import Provider, running_provider, turn_on
from toc.accounts.models import Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sso(settings, live_server) -> Iterator[Provider]:
    with running_provider() as provider:
        client = provider.register(f"{live_server.url}/accounts/sso/callback/")
        turn_on(settings, provider.url, client)
        settings.OIDC_PROVIDER_NAME = "Acme SSO"
        yield provider


@pytest.fixture
def page(page, sso):
    # The provider's page asks a CDN for its stylesheet (an empty one here:
    # nothing leaves this machine), and the browser asks it for an icon.
    page.route(
        re.compile(r"^https?://(?!localhost[:/])"),
        lambda route: route.fulfill(body="", content_type="text/css"),
    )
    page.route(f"{sso.url}/favicon.ico", lambda route: route.fulfill(status=204))
    return page


def authorize_at_the_provider(page, provider: Provider, sub: str) -> None:
    page.wait_for_url(f"{provider.url}/oauth2/authorize?**")
    page.get_by_label("Subject").fill(sub)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(lambda url: not url.startswith(provider.url))


def test_sign_in_with_the_company_account(page, live_server, sso) -> None:
    member = MembershipFactory(
        user__username="ada", user__email="ada@example.com", team__name="Fraud ops"
    )
    sso.person("ada-sub", email="ada@example.com", email_verified=True)
    team_url = f"{live_server.url}/teams/{member.team.slug}/"
    page.goto(f"{live_server.url}/accounts/login/?next=/teams/{member.team.slug}/")
    screenshot(page, "sso-login-page")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    authorize_at_the_provider(page, sso, "ada-sub")
    page.wait_for_url(team_url)
    expect(page.get_by_text("ada (you)")).to_be_visible()

    # Logging out of toc logs out of toc.
    page.get_by_role("button", name="Log out").click()
    page.goto(team_url)
    page.wait_for_url(f"{live_server.url}/accounts/login/?next=**")
    assert page.problems == [], "\n".join(page.problems)


def test_an_unverified_email_is_told_on_the_login_page(page, live_server, sso):
    sso.person("bo-sub", email="bo@example.com", email_verified=False)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    authorize_at_the_provider(page, sso, "bo-sub")
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("status")).to_contain_text(
        "Acme SSO has not verified your e-mail address bo@example.com"
    )
    expect(page.get_by_label("Username")).to_be_visible()
    screenshot(page, "sso-refused")
    assert page.problems == [], "\n".join(page.problems)


def test_an_invited_person_joins_by_single_sign_on(page, live_server, sso) -> None:
    invitation = InvitationFactory(team__name="Fraud ops", role=Role.EDITOR)
    sso.person("dana-sub", email="dana@example.com", email_verified=True)
    page.goto(f"{live_server.url}{invitation.path}")
    screenshot(page, "sso-invitation")
    page.get_by_role("link", name="sign in with Acme SSO").click()
    authorize_at_the_provider(page, sso, "dana-sub")
    page.wait_for_url(f"{live_server.url}{invitation.path}")
    page.get_by_role("button", name="Join Fraud ops as editor").click()
    page.wait_for_url(f"{live_server.url}/teams/{invitation.team.slug}/")
    expect(page.get_by_text("Welcome to Fraud ops: you are an editor.")).to_be_visible()
    membership = Membership.objects.get(team=invitation.team)
    assert (membership.user.username, membership.role) == ("dana", Role.EDITOR)
    assert page.problems == [], "\n".join(page.problems)
