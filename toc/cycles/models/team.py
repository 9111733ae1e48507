"""What the team keeps beside a cycle's chain: who carries each step and by
when, what they say about it, and the retrospective's notes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from toc.cycles.models.chain import Cycle

# Who carries each step, by when, and what the team says about it.


class StepPlan(models.Model):
    """A step's owner (one of the system's team) and due date; at most one per
    step of a cycle. A step without a row has neither."""

    cycle = models.ForeignKey(Cycle, models.CASCADE, related_name="step_plans")
    step = models.CharField(max_length=20)  # a key of records.STEPS
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    due = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["cycle", "step"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "step"], name="one_plan_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.step} of {self.cycle}"


class Comment(models.Model):
    cycle = models.ForeignKey(Cycle, models.CASCADE, related_name="comments")
    step = models.CharField(max_length=20)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(max_length=4000)
    created = models.DateTimeField(auto_now_add=True)
    # The team members the text names as @username when it was posted.
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in"
    )

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["cycle", "step", "created"])]

    def __str__(self) -> str:
        return self.text[:60]


# After the cycle: what the team says of it in its retrospective meeting.


class RetrospectiveNotes(models.Model):
    """Made by its first save. Written in the meeting after a cycle closes, so it
    stays editable by the team while its cycle is closed (access.py)."""

    # Not `notes`: the outcome has notes of its own, and the JSON export tells
    # this record under its name beside them.
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="lessons")
    went_well = models.TextField("What went well", blank=True)
    to_change = models.TextField("What to change", blank=True)
    actions = models.TextField(blank=True, help_text="One action per line.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "retrospective notes"

    def __str__(self) -> str:
        return f"Retrospective notes of {self.cycle}"

    @property
    def action_list(self) -> list[str]:
        return [line.strip() for line in self.actions.splitlines() if line.strip()]
