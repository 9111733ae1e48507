"""One invitation accepted by several requests at once: it works once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import InvitationFactory, MembershipFactory, UserFactory
from tests.races.conftest import AT_ONCE, at_once, meet_after, signed_in, statuses
from toc.accounts.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-horse-battery"


def test_visitors_racing_for_one_link_make_one_member_and_one_account(
    monkeypatch,
) -> None:
    team = MembershipFactory(role=Role.ADMIN).team
    invitation = InvitationFactory(team=team, role=Role.EDITOR)
    # Every request finds the invitation pending before any accepts it.
    meet_after(monkeypatch, Invitation, "find", AT_ONCE)

    def join(index: int):
        return lambda: Client(raise_request_exception=False).post(
            invitation.path,
            {
                "username": f"racer{index}",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )

    responses = at_once([join(index) for index in range(AT_ONCE)])
    assert statuses(responses) == [302] + [410] * (AT_ONCE - 1)
    joined = Membership.objects.filter(team=team, role=Role.EDITOR)
    assert joined.count() == 1
    # The others' accounts were not made either.
    assert get_user_model().objects.filter(username__startswith="racer").count() == 1
    invitation.refresh_from_db()
    assert joined.filter(user=invitation.accepted_by).exists()


def test_a_double_click_joins_once(monkeypatch) -> None:
    invitation = InvitationFactory(team=MembershipFactory(role=Role.ADMIN).team)
    user = UserFactory(username="erin")
    meet_after(monkeypatch, Invitation, "find", AT_ONCE)
    browser = signed_in(user)

    responses = at_once([lambda: browser.post(invitation.path) for _ in range(AT_ONCE)])
    assert 500 not in statuses(responses)
    assert statuses(responses).count(302) == 1
    assert Membership.objects.filter(user=user).count() == 1
