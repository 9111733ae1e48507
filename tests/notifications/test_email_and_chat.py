"""Mail through Django's SMTP backend to a real SMTP server (aiosmtpd), to
the members who chose the event; chat through apprise to a real HTTP
receiver (json://)."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model

from tests.factories import MembershipFactory
from tests.receivers import closed_port
from toc.accounts.models import Membership, Role
from toc.notifications import services, tasks
from toc.notifications.forms import ChatChannelForm
from toc.notifications.models import (
    Attempt,
    ChatChannel,
    Delivery,
    DeliveryStatus,
    EventKind,
)


def _member(team, username: str, email: str, role=Role.VIEWER) -> Membership:
    user = get_user_model().objects.create(username=username, email=email)
    return MembershipFactory(team=team, user=user, role=role)


def test_mail_goes_to_the_members_who_chose_the_event(personas, smtp, moved):
    chose = _member(personas.team, "ana", "ana@example.com")
    services.email_choice_set(membership=chose, events=[EventKind.CONSTRAINT_MOVED])
    other = _member(personas.team, "bo", "bo@example.com")
    services.email_choice_set(membership=other, events=[EventKind.SYSTEM_STALE])
    _member(personas.team, "cy", "cy@example.com")  # chose nothing: the default
    no_address = _member(personas.team, "di", "")
    services.email_choice_set(membership=no_address, events=EventKind.values)
    moved()

    tasks.scan()

    [message] = smtp.messages
    assert message["X-Rcpt-To"] == "ana@example.com"
    assert message["Subject"].startswith("[toc] ")
    assert "The constraint moved (once held)" in message["Subject"]
    text = message.get_payload(decode=True).decode()
    assert "Fraud scoring: The constraint moved from Features to Inference" in text
    assert "System: Fraud scoring (fraud)" in text
    # One delivery: none for the member without an address.
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_removed_member_gets_no_more_mail(personas, smtp, moved):
    member = _member(personas.team, "ana", "ana@example.com")
    services.email_choice_set(membership=member, events=EventKind.values)
    member.delete()
    moved()
    tasks.scan()
    assert smtp.messages == []


def test_a_mail_server_that_is_down_is_retried_and_logged(personas, settings, moved):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 1},
        }
    }
    member = _member(personas.team, "ana", "ana@example.com")
    services.email_choice_set(membership=member, events=EventKind.values)
    moved()

    tasks.scan()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == settings.NOTIFICATIONS_MAX_ATTEMPTS
    assert Attempt.objects.first().error.startswith("The mail server refused")


def _chat(team, url: str, events: list[str]) -> ChatChannel:
    form = ChatChannelForm({"url": url, "events": events}, team=team)
    assert form.is_valid(), form.errors
    return services.chat_channel_create(
        team=team, url=form.cleaned_data["url"], shown=form.shown, events=events
    )


def test_chat_is_told_through_apprise(personas, receiver, moved):
    _chat(
        personas.team,
        f"json://127.0.0.1:{receiver.port}/chat",
        [EventKind.CONSTRAINT_MOVED],
    )
    moved()

    tasks.scan()

    [request] = receiver.requests
    assert request.path == "/chat"
    said = json.loads(request.body)
    assert "The constraint moved (once held)" in said["title"]
    assert said["message"].startswith("Fraud scoring: The constraint moved")
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_chat_service_that_fails_is_retried(personas, receiver, moved):
    receiver.answers = [500, 200]
    _chat(
        personas.team,
        f"json://127.0.0.1:{receiver.port}/",
        [EventKind.CONSTRAINT_MOVED, EventKind.SYSTEM_STALE],
    )
    moved()

    tasks.scan()

    assert len(receiver.requests) == 2
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    first = delivery.attempt_log.first()
    assert not first.ok
    assert first.error


def test_a_chat_url_is_sealed_at_rest_and_shown_masked(personas):
    token = "xoxb-1234567890-abcdefghijklmnop"
    chat = _chat(personas.team, f"slack://{token}/#toc", [EventKind.CONSTRAINT_MOVED])
    stored = ChatChannel.objects.filter(pk=chat.pk).values().get()
    assert token not in json.dumps(stored, default=str)
    assert chat.url() == f"slack://{token}/#toc"


def test_an_unknown_chat_url_is_refused_in_words(personas):
    form = ChatChannelForm(
        {"url": "nosuchservice://x", "events": ["constraint.moved"]},
        team=personas.team,
    )
    assert not form.is_valid()
    assert "apprise does not know this URL" in form.errors["url"][0]
