"""One improvement cycle and one record per link of its chain.

Barnard's pairings are one-to-one, so every link is a OneToOneField: the
database, not the views, keeps a cycle from having two problems or two
experiments.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from toc.lib.bounds import AMOUNT, FACTOR, SHARE, SIGNED, Range
from toc.systems.models import Comparator, System

# A phase held longer than a year is not a rollout step.
HOLD_HOURS = Range(0, 366 * 24, "a number of hours", "a year")


class CycleStatus(models.TextChoices):
    OPEN = "open", "In progress"
    CLOSED = "closed", "Closed"


class Cycle(models.Model):
    system = models.ForeignKey(System, models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=CycleStatus, default=CycleStatus.OPEN
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # The system's stage names (slug: name) when the cycle closed, so that its
    # retrospective keeps telling the stages as they were then; empty while open.
    stage_names = models.JSONField(default=dict, blank=True)
    # The system's SLOs as they stood when the cycle opened and when it closed
    # (services.slo_record): the goal it worked towards and where it left it.
    slos_opened = models.JSONField(default=list, blank=True)
    slos_closed = models.JSONField(null=True, blank=True)
    # A reopened cycle's history row carries the admin's reason, which may be
    # longer than simple-history's default 100 characters.
    history = HistoricalRecords(history_change_reason_field=models.TextField(null=True))

    class Meta:
        ordering = ["-number"]
        constraints = [
            # Cycle 1, 2, … per system; also serves the lookup by number.
            models.UniqueConstraint(
                fields=["system", "number"], name="cycle_number_in_system"
            ),
            # A team works on one constraint at a time: two cycles in progress
            # would pull the same people two ways. Also serves the lookup of a
            # system's open cycle.
            models.UniqueConstraint(
                fields=["system"],
                condition=Q(status=CycleStatus.OPEN),
                name="one_open_cycle_per_system",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CycleStatus.values), name="cycle_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.number}: {self.title}"

    def get_absolute_url(self) -> str:
        return f"/systems/{self.system.slug}/cycles/{self.number}/"

    def close(self, slos: list[dict], at: datetime | None = None) -> None:
        """Closes the cycle (now, unless told when), keeping the names its stages
        have now and `slos`, the system's SLOs as they stand (services.slo_record)."""
        self.status = CycleStatus.CLOSED
        self.closed_at = at or timezone.now()
        self.stage_names = dict(self.system.stages.values_list("slug", "name"))
        self.slos_closed = slos
        self.save(update_fields=["status", "closed_at", "stage_names", "slos_closed"])

    def reopen(self, reason: str) -> None:
        """Puts a closed cycle back in progress; `reason` goes into its trail.
        Its stages are the system's again, as for any open cycle."""
        self.status = CycleStatus.OPEN
        self.closed_at = None
        self.stage_names = {}
        self.slos_closed = None
        self._change_reason = reason  # read by simple-history on this save
        self.save(update_fields=["status", "closed_at", "stage_names", "slos_closed"])


# Step 1: the constraint (the goal, the SLOs, is the system's).


class ConstraintChoice(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="constraint")
    stage = models.CharField(max_length=40)  # stage slug, stable across renames
    stage_name = models.CharField(max_length=100)
    reason = models.TextField(blank=True)
    detected_stage = models.CharField(max_length=40, blank=True)
    ledger_snapshot = models.JSONField(null=True, blank=True)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    chosen_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.stage_name} in {self.cycle}"


class ValidationExperiment(models.Model):
    """ "Give the suspect stage extra capacity for a while": did the system improve?"""

    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="validation")
    stage = models.CharField(max_length=40)
    capacity_factor = models.FloatField(validators=FACTOR.validators())
    started = models.DateTimeField()
    ended = models.DateTimeField()
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ended__gt=models.F("started")),
                name="validation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=FACTOR.check("capacity_factor"),
                name="validation_factor_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage} ×{self.capacity_factor}"


# Step 2: the problem.


class RootCause(models.TextChoices):
    FEATURE_EXPLOSION = "feature_explosion", "Feature explosion"
    MULTI_GRANULARITY = "multi_granularity", "Multi-granularity overhead"
    STALE_REFERENCE_DATA = "stale_reference_data", "Stale reference data"
    ORGANIZATIONAL = "organizational", "Organizational"
    OTHER = "other", "Other"


class Problem(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="problem")
    statement = models.TextField(blank=True)
    root_cause = models.CharField(max_length=30, choices=RootCause, blank=True)
    gap_share = models.FloatField(
        null=True,
        blank=True,
        validators=SHARE.validators(),
        help_text="Share of the gap to the goal this explains.",
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=SHARE.check("gap_share", null=True), name="problem_gap_share"
            ),
        ]

    def __str__(self) -> str:
        return f"Problem of {self.cycle}"


class Why(models.Model):
    problem = models.ForeignKey(Problem, models.CASCADE, related_name="whys")
    position = models.PositiveIntegerField()
    answer = models.TextField()
    evidence = models.TextField(blank=True)
    validated = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.answer[:60]


# Step 3: the conflict (evaporating cloud).


class Arrow(models.TextChoices):
    OBJECTIVE_B = "a_b", "Objective ← need B"
    OBJECTIVE_C = "a_c", "Objective ← need C"
    NEED_B_ACTION_D = "b_d", "Need B ← action D"
    NEED_C_ACTION_E = "c_e", "Need C ← action D′"
    ACTIONS = "d_e", "D conflicts with D′"


class Oscillation(models.TextChoices):
    STUCK = "stuck", "Stuck (exaggerated fears of change)"
    OVERREACTING = "overreacting", "Overreacting (jumping to a new fix)"


class Conflict(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="conflict")
    objective = models.CharField(max_length=300, blank=True)
    need_b = models.CharField(max_length=300, blank=True)
    action_d = models.CharField(max_length=300, blank=True)
    need_c = models.CharField(max_length=300, blank=True)
    action_e = models.CharField(max_length=300, blank=True)
    oscillation = models.CharField(max_length=20, choices=Oscillation, blank=True)
    oscillation_note = models.TextField(blank=True)
    broken_assumption = models.ForeignKey(
        "Assumption", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Conflict of {self.cycle}"


class Verdict(models.TextChoices):
    OPEN = "", "Not challenged yet"
    HOLDS = "holds", "Holds"
    DOES_NOT_HOLD = "does_not_hold", "Does not hold"
    PARTLY = "partly", "Holds partly"


class Assumption(models.Model):
    conflict = models.ForeignKey(Conflict, models.CASCADE, related_name="assumptions")
    arrow = models.CharField(max_length=3, choices=Arrow)
    text = models.CharField(max_length=300)
    verdict = models.CharField(max_length=20, choices=Verdict, blank=True)
    reasoning = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["arrow", "id"]

    def __str__(self) -> str:
        return self.text


# Step 4: the innovation.


class Pattern(models.TextChoices):
    CASCADE = "cascade", "Cascade filtering"
    ASYNC_ENRICHMENT = "async_enrichment", "Async enrichment"
    CONFIDENCE_ROUTING = "confidence_routing", "Confidence routing"
    FEATURE_CACHING = "feature_caching", "Feature caching"
    OTHER = "other", "Other"


class Innovation(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="innovation")
    summary = models.TextField(blank=True)
    patterns = models.JSONField(default=list, blank=True)
    pros_kept_b = models.TextField(blank=True)
    pros_kept_c = models.TextField(blank=True)
    residual_cons = models.TextField(blank=True)
    organizational_change = models.TextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Innovation of {self.cycle}"


class Tier(models.Model):
    innovation = models.ForeignKey(Innovation, models.CASCADE, related_name="tiers")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    features = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=100, blank=True)
    traffic_share = models.FloatField(
        validators=SHARE.validators(), help_text="Share of all traffic this tier sees."
    )
    exit_share = models.FloatField(default=0, validators=SHARE.validators())
    latency_ms = models.FloatField(validators=AMOUNT.validators())
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=SHARE.check("traffic_share")
                & SHARE.check("exit_share")
                & AMOUNT.check("latency_ms"),
                name="tier_numbers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# Step 5: the experiment, then rollout and outcome.


class Decision(models.TextChoices):
    UNDECIDED = "", "Not decided"
    GO = "go", "Go"
    NO_GO = "no_go", "No-go"
    ITERATE = "iterate", "Iterate"


class Experiment(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="experiment")
    riskiest_assumption = models.TextField(blank=True)
    hypothesis = models.TextField(blank=True)
    results = models.TextField(blank=True)
    learnings = models.TextField(blank=True)
    decision = models.CharField(max_length=10, choices=Decision, blank=True)
    decision_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Experiment of {self.cycle}"


class Criterion(models.Model):
    experiment = models.ForeignKey(Experiment, models.CASCADE, related_name="criteria")
    metric = models.CharField(max_length=100)
    comparator = models.CharField(max_length=2, choices=Comparator)
    threshold = models.FloatField(validators=SIGNED.validators())
    result = models.FloatField(null=True, blank=True, validators=SIGNED.validators())
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=SIGNED.check("threshold") & SIGNED.check("result", null=True),
                name="criterion_numbers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.comparator} {self.threshold}"


class Rollout(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="rollout")
    rollback_rule = models.TextField(
        default="Roll back to the previous phase automatically on any SLO violation."
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Rollout of {self.cycle}"


class PhaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    ROLLED_BACK = "rolled_back", "Rolled back"


class RolloutPhase(models.Model):
    rollout = models.ForeignKey(Rollout, models.CASCADE, related_name="phases")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=50)
    traffic_share = models.FloatField(validators=SHARE.validators())
    hold_hours = models.FloatField(validators=HOLD_HOURS.validators())
    success_criteria = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=PhaseStatus, default=PhaseStatus.PENDING
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["rollout", "position"], name="phase_position"
            ),
            models.CheckConstraint(
                condition=SHARE.check("traffic_share") & HOLD_HOURS.check("hold_hours"),
                name="phase_numbers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Outcome(models.Model):
    cycle = models.OneToOneField(Cycle, models.CASCADE, related_name="outcome")
    next_constraint = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Outcome of {self.cycle}"


class OutcomeRow(models.Model):
    outcome = models.ForeignKey(Outcome, models.CASCADE, related_name="rows")
    metric = models.CharField(max_length=100)
    before = models.FloatField(validators=SIGNED.validators())
    after = models.FloatField(validators=SIGNED.validators())
    unit = models.CharField(max_length=30, blank=True)
    lower_is_better = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=SIGNED.check("before") & SIGNED.check("after"),
                name="outcome_row_numbers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.metric
