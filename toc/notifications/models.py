"""What toc tells a team, and how each telling went.

An Event is one occurrence (the constraint moved, a system went stale),
recorded once under a key that names the occurrence; a Delivery is that event
on its way to one target (a webhook, a chat service, a person's mail box),
and each Attempt at it is logged with the answer.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from toc.accounts.models import Membership, Team
from toc.notifications import sealed
from toc.systems.models import System


class EventKind(models.TextChoices):
    CONSTRAINT_MOVED = "constraint.moved", "The constraint moved (once held)"
    SYSTEM_STALE = "system.stale", "A system went silent (stale data)"
    SYSTEM_RECOVERED = "system.recovered", "A stale system posts again"
    CYCLE_STEP_DUE = "cycle.step_due", "A cycle's step is past its due date"
    SLO_BURNING = "slo.burning", "An SLO burns its error budget"


# The kinds a person may choose: those something emits. Offering one that
# never comes would read as a promise.
OFFERED = EventKind.choices


class Event(models.Model):
    # Names the occurrence ("system.stale:<system>:<newest sample>"), so that
    # recording it twice, by two scans or one after a restart, is refused by
    # the database: no occurrence is ever told twice.
    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=40, choices=EventKind)
    team = models.ForeignKey(Team, models.CASCADE, related_name="events")
    system = models.ForeignKey(
        System, models.CASCADE, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    # What the body's "data" carries: plain values, names beside slugs.
    data = models.JSONField(default=dict)
    summary = models.CharField(max_length=300)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Serves the stale scan's "latest stale event of each system".
            models.Index(fields=["kind", "system"], name="event_kind_system"),
        ]

    def __str__(self) -> str:
        return self.key

    def body(self) -> dict:
        """The webhook's JSON body."""
        return {
            "event": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "team": self.team.slug,
            "system": self.system.slug if self.system else None,
            "data": self.data,
        }


def _new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhook(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)  # EventKind values
    # sealed.py: signing needs the secret itself, so it is encrypted, not hashed.
    sealed_secret = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.url

    @classmethod
    def issue(cls, **fields) -> tuple[Webhook, str]:
        """A new webhook and its signing secret, which is shown once."""
        secret = _new_signing_secret()
        return cls.objects.create(sealed_secret=sealed.seal(secret), **fields), secret

    def secret(self) -> str:
        return sealed.unseal(self.sealed_secret)


class ChatChannel(models.Model):
    """A chat service (Slack, Teams, Matrix, …) reached through apprise, by an
    apprise URL whose token is sealed; `shown` is that URL with its secrets
    masked, for the page."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="chat_channels")
    sealed_url = models.TextField()
    shown = models.CharField(max_length=500)
    events = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.shown

    def url(self) -> str:
        return sealed.unseal(self.sealed_url)


class EmailChoice(models.Model):
    """The events one member of a team gets by mail; none until they choose."""

    membership = models.OneToOneField(
        Membership, models.CASCADE, related_name="email_choice"
    )
    events = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.membership}: {', '.join(self.events) or 'nothing'}"


class Channel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    CHAT = "chat", "Chat"
    EMAIL = "email", "E-mail"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class Delivery(models.Model):
    event = models.ForeignKey(Event, models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel)
    # "webhook:<id>", "chat:<id>", "email:<user id>": one delivery per event and
    # target, whoever fans the event out and however often.
    target = models.CharField(max_length=60)
    webhook = models.ForeignKey(
        Webhook, models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    chat = models.ForeignKey(
        ChatChannel, models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING
    )
    # Attempts made so far; a task carries the count it expects, so that a
    # duplicate or late task finds it changed and sends nothing.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "target"], name="one_delivery_per_target"
            ),
            models.CheckConstraint(
                condition=(
                    Q(channel="webhook", webhook__isnull=False)
                    | Q(channel="chat", chat__isnull=False)
                    | Q(channel="email", recipient__isnull=False)
                ),
                name="delivery_has_its_target",
            ),
        ]
        indexes = [
            # Serves the scan's "deliveries owed whose task was lost".
            models.Index(fields=["status", "next_attempt_at"], name="delivery_owed"),
        ]

    def __str__(self) -> str:
        return f"{self.event.key} to {self.target}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The start of the receiver's answer, or of what the chat library said.
    response = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at}: {'ok' if self.ok else 'failed'}"
