from __future__ import annotations

from datetime import timedelta
from hmac import compare_digest

from django.conf import settings
from django.db import models
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AbstractAuthToken, get_digest_token
from knox.settings import CONSTANTS

# This many leading characters of a secret (prefix included) find its row.
TOKEN_KEY_LENGTH = CONSTANTS.TOKEN_KEY_LENGTH


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


# Each role can do everything the ones before it can.
_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


class TeamQuerySet(models.QuerySet):
    def for_user(self, user) -> TeamQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def writable_by(self, user) -> TeamQuerySet:
        if not user.is_authenticated:
            return self.none()
        # One filter() call, so that user and role match the same membership.
        return self.filter(
            memberships__user=user, memberships__role__in=[Role.EDITOR, Role.ADMIN]
        )


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def role_of(self, user) -> Role | None:
        if not user.is_authenticated:
            return None
        membership = self.memberships.filter(user=user).only("role").first()
        return Role(membership.role) if membership else None


class Membership(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"], name="one_membership_per_team"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


def role_allows(role: Role | str | None, needed: Role) -> bool:
    if role is None:
        return False
    return _RANK[Role(role)] >= _RANK[needed]


def find_by_secret(queryset: models.QuerySet, plaintext: str):
    """The row of `queryset` whose digest is that of `plaintext`, or None.

    Rows are stored as a digest and `token_key`, the secret's first
    characters, which finds the candidates; digests compare in constant time.
    """
    digest = hash_token(plaintext)
    # Unordered: the models' default ordering cost a fifth of the lookup.
    candidates = queryset.filter(token_key=plaintext[:TOKEN_KEY_LENGTH]).order_by()
    return next((row for row in candidates if compare_digest(row.digest, digest)), None)


class ApiToken(AbstractAuthToken):
    """A personal API token: acts as its user, with that user's team roles."""

    name = models.CharField(max_length=100)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"

    @classmethod
    def find(cls, plaintext: str) -> ApiToken | None:
        """The token of an active user matching `plaintext`, if not expired.

        knox's own lookup also reads all of the user's other tokens on every
        request, to delete expired ones; toc's tokens do not expire.
        """
        token = find_by_secret(cls.objects.select_related("user"), plaintext)
        if token is None or not token.user.is_active:
            return None
        if token.expiry is not None and token.expiry < timezone.now():
            return None
        return token


class InvitationState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Used"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires__gt=timezone.now(),
        )


def _invitation_expires():
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


class Invitation(models.Model):
    """A one-time link that lets whoever holds it join `team` with `role`.

    Like an API token, only a digest of the secret is stored: the link is shown
    to the admin who made it, and mailed to `email`, once.
    """

    PREFIX = "tocinv_"

    team = models.ForeignKey(Team, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)
    token_key = models.CharField(max_length=25, db_index=True)
    digest = models.CharField(max_length=128, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(default=_invitation_expires)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="invitation_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.team} ({self.role})"

    @classmethod
    def issue(cls, **fields) -> tuple[Invitation, str]:
        """Creates an invitation and returns it with its secret, never stored."""
        digest, plaintext = get_digest_token(prefix=cls.PREFIX)
        invitation = cls.objects.create(
            token_key=plaintext[:TOKEN_KEY_LENGTH], digest=digest, **fields
        )
        return invitation, plaintext

    @classmethod
    def find(cls, plaintext: str) -> Invitation | None:
        """The invitation of `plaintext`, whatever its state."""
        return find_by_secret(cls.objects.select_related("team"), plaintext)

    @property
    def state(self) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.PENDING
