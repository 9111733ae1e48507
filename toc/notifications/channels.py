"""Sending one event to one target: a webhook, a chat service, a mail box.

Each returns what happened in words for the delivery log and never raises for
a receiver's failure: a failure is an answer to log and retry.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import IO

import apprise
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from toc.notifications.models import Delivery, Event

logger = logging.getLogger(__name__)

# This much of an answer is kept in the log.
EXCERPT = 500


@dataclass(frozen=True)
class Sent:
    ok: bool
    status_code: int | None = None
    response: str = ""
    error: str = ""


def signature(secret: str, body: bytes) -> str:
    """The X-Toc-Signature header: HMAC-SHA256 of the raw body, in hex."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an order: a receiver must not send toc's
    signed body on to an address nobody registered."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def private_address(url: str) -> str:
    """Why toc will not post to `url`: it names a host on a loopback, private,
    link-local or otherwise not public address; "" when it may. The address is
    looked up again at each send, so a name that changes its address later is
    caught then."""
    if settings.NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES:
        return ""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ""  # the send itself says it found no such host
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global:
            return (
                f"{host} is at {ip}, which is not a public address; toc posts "
                "only to public addresses (NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES)."
            )
    return ""


def webhook_send(delivery: Delivery) -> Sent:
    event, webhook = delivery.event, delivery.webhook
    assert webhook is not None
    refused = private_address(webhook.url)
    if refused:
        return Sent(False, error=refused)
    body = json.dumps(event.body(), separators=(",", ":")).encode()
    request = urllib.request.Request(
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "toc-webhooks/1",
            "X-Toc-Event": event.kind,
            # The occurrence's key: the same in every attempt, so a receiver
            # that got an attempt whose answer was lost can drop the repeat.
            "X-Toc-Event-Key": event.key,
            "X-Toc-Signature": signature(webhook.secret(), body),
        },
    )
    timeout = settings.NOTIFICATIONS_TIMEOUT_S
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Sent(True, response.status, _excerpt(response.read(EXCERPT * 2)))
    except urllib.error.HTTPError as answer:
        return Sent(
            False,
            answer.code,
            _excerpt(answer.read(EXCERPT * 2)),
            f"The receiver answered {answer.code} {answer.reason}.",
        )
    except (urllib.error.URLError, OSError, ValueError) as failure:
        reason = getattr(failure, "reason", failure)
        return Sent(False, error=_excerpt(f"No answer: {reason}"))


def chat_send(delivery: Delivery) -> Sent:
    """Through apprise, which knows each chat service's format."""
    event, chat = delivery.event, delivery.chat
    assert chat is not None
    notifier = apprise.Apprise()
    if not notifier.add(chat.url()):
        return Sent(False, error="apprise does not accept this URL any more.")
    with apprise.LogCapture(level=logging.INFO) as said:
        ok = notifier.notify(title=_title(event), body=event.summary)
        log = said.getvalue()
    if ok:
        return Sent(True, response=_excerpt(log))
    return Sent(False, error=_excerpt(log or "apprise could not send it."))


def email_send(delivery: Delivery) -> Sent:
    event, person = delivery.event, delivery.recipient
    assert person is not None
    if not person.email:
        return Sent(False, error="This person has no e-mail address.")
    message = EmailMessage(
        subject=_title(event),
        body=render_to_string("notifications/email.txt", {"event": event}),
        to=[person.email],
    )
    try:
        message.send()
    except OSError as failure:
        return Sent(False, error=_excerpt(f"The mail server refused: {failure}"))
    return Sent(True, response=f"Sent to {person.email}.")


SENDERS = {"webhook": webhook_send, "chat": chat_send, "email": email_send}


def _title(event: Event) -> str:
    return f"[toc] {event.team.name}: {event.get_kind_display()}"


def _excerpt(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text[:EXCERPT]
