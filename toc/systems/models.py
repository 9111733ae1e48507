from __future__ import annotations

from typing import cast

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from knox.models import get_digest_token
from simple_history.models import HistoricalRecords

from toc.accounts.models import TOKEN_KEY_LENGTH, Team, find_by_secret
from toc.lib.bounds import AMOUNT, COST, SHARE, SIGNED

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


class StageKind(models.TextChoices):
    MACHINE = "machine", "Machine"
    HUMAN = "human", "People"


SECONDS_PER_HOUR = 3600
# Bounds that keep a human stage's capacity a rate ingest accepts.
MAX_PEOPLE = 100_000
MAX_ITEMS_PER_HOUR = 100_000


def human_capacity(people: int, items_per_hour: float) -> float:
    """Records a second that `people` working `items_per_hour` each get through."""
    return people * items_per_hour / SECONDS_PER_HOUR


class Stage(models.Model):
    """A step of the pipeline. A machine stage reports its own capacity; a human
    stage (analysts triaging alerts) has it from its people and their pace."""

    system = models.ForeignKey(System, models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=40, validators=[slug_validator])
    position = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=30, default="records/s")
    kind = models.CharField(max_length=10, choices=StageKind, default=StageKind.MACHINE)
    people = models.PositiveIntegerField(null=True, blank=True)
    items_per_hour = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            # A human stage has both numbers, above zero; a machine stage neither.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind=StageKind.MACHINE,
                        people__isnull=True,
                        items_per_hour__isnull=True,
                    )
                    | models.Q(
                        kind=StageKind.HUMAN,
                        # SQL passes a check on NULL > 0, so both are named.
                        people__isnull=False,
                        items_per_hour__isnull=False,
                        people__gt=0,
                        people__lte=MAX_PEOPLE,
                        items_per_hour__gt=0,
                        items_per_hour__lte=MAX_ITEMS_PER_HOUR,
                    )
                ),
                name="stage_kind_numbers",
            ),
            models.UniqueConstraint(
                fields=["system", "slug"], name="stage_slug_unique_in_system"
            ),
            # Names label the stages in the constraint's reasons, so they must
            # tell the stages apart.
            models.UniqueConstraint(
                fields=["system", "name"], name="stage_name_unique_in_system"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_human(self) -> bool:
        return self.kind == StageKind.HUMAN

    @property
    def known_capacity(self) -> float | None:
        """The capacity in records/s (as the ledger counts) that the stage itself
        gives: a human stage's people x pace. None for a machine stage, whose
        samples report it."""
        if not self.is_human:
            return None
        # stage_kind_numbers gives a human stage both numbers.
        return human_capacity(cast(int, self.people), cast(float, self.items_per_hour))


# The goal: service level objectives.


class SloDimension(models.TextChoices):
    TIME_TO_DECISION = "time_to_decision", "Time to decision (p95)"
    DECISION_BUDGET = "decision_budget", "Decision budget"
    OUTCOME_WEIGHTED = "outcome_weighted", "Outcome-weighted performance"
    COVERAGE = "coverage", "Coverage"
    DATA_LOSS = "data_loss", "Data loss"
    CUSTOM = "custom", "Custom"


class Comparator(models.TextChoices):
    AT_MOST = "<=", "≤"
    BELOW = "<", "<"
    AT_LEAST = ">=", "≥"
    ABOVE = ">", ">"
    EXACTLY = "==", "="


class MeasuredFrom(models.TextChoices):
    TYPED = "typed", "Typed in"
    LAST_STAGE_P95 = "last_stage_p95", "Last stage's p95 latency"
    DATA_LOSS = "data_loss", "Dropped / throughput"


class Indicator(models.TextChoices):
    NONE = "", "None (the measured value only)"
    THRESHOLD = "threshold", "A stage's field against a threshold"
    # A slice's good share is 1 - field / total_field (field is the bad one).
    RATIO = "ratio", "Good share of a stage's fields"
    PROMQL = "promql", "PromQL good / total"
    UNBOUND = "unbound", "A source toc cannot read"


# The sample fields an indicator reads, as a minute's rollup gives them: a
# threshold compares the minute's value (the p95's maximum, a rate's or a
# share's mean, the last queue depth, a count's sum); a ratio counts events,
# so it takes counts and rates (a rate over the minute is rate x 60 events).
THRESHOLD_FIELDS = (
    "latency_p95_ms",
    "throughput",
    "capacity",
    "utilization",
    "blocked",
    "queue_depth",
    "errors",
    "dropped",
)
RATIO_FIELDS = ("throughput", "capacity", "errors", "dropped")


class Budgeting(models.TextChoices):
    """OpenSLO's budgetingMethod values, spelled as OpenSLO spells them."""

    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"
    RATIO_TIMESLICES = "RatioTimeslices"


class Calendar(models.TextChoices):
    ROLLING = "", "Rolling"
    WEEK = "week", "Calendar week"
    MONTH = "month", "Calendar month"


LIVE_INDICATORS = (Indicator.THRESHOLD, Indicator.RATIO, Indicator.PROMQL)


class Slo(models.Model):
    """A service level objective of a system: the goal, which stays while the
    constraint moves from stage to stage. A cycle records the SLOs as they
    stood when it opened and when it closed (Cycle.slos_opened, slos_closed)."""

    system = models.ForeignKey(System, models.CASCADE, related_name="slos")
    dimension = models.CharField(max_length=20, choices=SloDimension)
    name = models.CharField(max_length=100)
    comparator = models.CharField(max_length=2, choices=Comparator)
    target = models.FloatField(null=True, blank=True, validators=AMOUNT.validators())
    unit = models.CharField(max_length=30, blank=True)
    measured = models.FloatField(null=True, blank=True, validators=AMOUNT.validators())
    measured_from = models.CharField(
        max_length=20, choices=MeasuredFrom, default=MeasuredFrom.TYPED
    )
    position = models.PositiveIntegerField(default=0)
    # What the SLO is measured on continuously (live when bound and given an
    # objective); the worker keeps the figures in metrics.SloBudget.
    indicator = models.CharField(
        max_length=10, choices=Indicator, blank=True, default=Indicator.NONE
    )
    stage = models.CharField(max_length=40, blank=True)  # a stage slug
    # threshold: the sample field compared; ratio: the bad field (dropped).
    field = models.CharField(max_length=30, blank=True)
    total_field = models.CharField(max_length=30, blank=True)  # ratio only
    # In the field's own unit; a slice is good when `field comparator threshold`.
    threshold = models.FloatField(null=True, blank=True, validators=SIGNED.validators())
    promql_good = models.TextField(blank=True)
    promql_total = models.TextField(blank=True)
    # OpenSLO's target: the share of good slices or events aimed at, 0.99.
    objective = models.FloatField(null=True, blank=True, validators=SHARE.validators())
    budgeting = models.CharField(
        max_length=16, choices=Budgeting, default=Budgeting.TIMESLICES
    )
    # RatioTimeslices: a slice is good when its good share reaches this.
    timeslice_target = models.FloatField(
        null=True, blank=True, validators=SHARE.validators()
    )
    window_days = models.PositiveSmallIntegerField(default=28)
    calendar = models.CharField(
        max_length=5, choices=Calendar, blank=True, default=Calendar.ROLLING
    )
    # An OpenSLO metricSource toc cannot read, kept as given until bound.
    source = models.JSONField(null=True, blank=True)
    openslo_name = models.CharField(max_length=63, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=AMOUNT.check("target", null=True)
                & AMOUNT.check("measured", null=True),
                name="slo_numbers_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(objective__isnull=True)
                | models.Q(objective__gt=0, objective__lt=1),
                name="slo_objective_a_fraction",
            ),
            models.CheckConstraint(
                condition=models.Q(timeslice_target__isnull=True)
                | models.Q(timeslice_target__gt=0, timeslice_target__lte=1),
                name="slo_timeslice_target_a_fraction",
            ),
            models.CheckConstraint(
                condition=models.Q(window_days__gte=1, window_days__lte=366),
                name="slo_window_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        """Measured continuously: bound to data toc reads, with an objective."""
        return self.indicator in LIVE_INDICATORS and self.objective is not None


class IngestKeyQuerySet(models.QuerySet):
    def active(self) -> IngestKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class IngestKey(models.Model):
    """A secret that lets a pipeline post samples for one system, and nothing else.

    Only a digest is stored; `token_key` (the first characters, prefix included)
    finds the candidate row and is what the page shows.
    """

    PREFIX = "tocik_"

    system = models.ForeignKey(System, models.CASCADE, related_name="ingest_keys")
    name = models.CharField(max_length=100)
    # Serves the lookup of an incoming key by its first characters.
    token_key = models.CharField(max_length=25, db_index=True)
    digest = models.CharField(max_length=128, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = IngestKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"

    @classmethod
    def issue(
        cls, *, system: System, name: str, created_by=None
    ) -> tuple[IngestKey, str]:
        """Creates a key and returns it with the plaintext, which is never stored."""
        digest, plaintext = get_digest_token(prefix=cls.PREFIX)
        key = cls.objects.create(
            system=system,
            name=name,
            token_key=plaintext[:TOKEN_KEY_LENGTH],
            digest=digest,
            created_by=created_by,
        )
        return key, plaintext

    @classmethod
    def find(cls, plaintext: str) -> IngestKey | None:
        """The active key matching `plaintext`."""
        return find_by_secret(cls.objects.active().select_related("system"), plaintext)


class Feature(models.Model):
    """A stage's feature registry: what each feature costs and what it is worth."""

    stage = models.ForeignKey(Stage, models.CASCADE, related_name="features")
    name = models.CharField(max_length=100)
    importance = models.FloatField(validators=AMOUNT.validators())
    # Above zero: its value is importance / compute cost.
    compute_cost = models.FloatField(validators=COST.validators())
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "name"], name="feature_name_in_stage"
            ),
            models.CheckConstraint(
                condition=AMOUNT.check("importance") & COST.check("compute_cost"),
                name="feature_numbers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name
