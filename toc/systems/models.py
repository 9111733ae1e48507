from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from toc.accounts.models import Team

# Short and URL-safe, like a project key: it appears in URLs and API paths.
slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    "Use 1 to 40 lowercase letters, digits and hyphens, not starting or ending "
    "with a hyphen.",
)


class SystemQuerySet(models.QuerySet):
    def for_user(self, user) -> SystemQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(team__memberships__user=user)


class System(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="systems")
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=40, unique=True, validators=[slug_validator])
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = SystemQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/systems/{self.slug}/"

    def next_stage_position(self) -> int:
        last = self.stages.aggregate(models.Max("position"))["position__max"]
        return 0 if last is None else last + 1


class Stage(models.Model):
    system = models.ForeignKey(System, models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=40, validators=[slug_validator])
    position = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=30, default="records/s")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "slug"], name="stage_slug_unique_in_system"
            ),
        ]

    def __str__(self) -> str:
        return self.name
