from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from toc.systems.models import Slo, Stage, System

# A queued flag older than this stands for a task that was lost (broker down or
# flushed); it must exceed the longest wait in the queue plus the task's run.
QUEUED_STALE = timedelta(seconds=settings.TOC_QUEUED_STALE_S)


class Sample(models.Model):
    """One report of what a stage was doing at `ts` (sample time)."""

    # No index of its own: the unique (stage, ts) index serves every lookup by
    # stage, and a second one misleads the planner and slows every insert.
    stage = models.ForeignKey(
        Stage, models.CASCADE, related_name="samples", db_index=False
    )
    ts = models.DateTimeField()
    throughput = models.FloatField()
    capacity = models.FloatField()
    utilization = models.FloatField(null=True)
    latency_p95_ms = models.FloatField()
    queue_depth = models.BigIntegerField()
    errors = models.BigIntegerField(default=0)
    dropped = models.BigIntegerField(default=0)
    blocked = models.FloatField(null=True)
    failure_mode = models.CharField(max_length=200, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Makes retries idempotent, and serves every per-stage time-window
            # query (stage_id = ? AND ts BETWEEN ...).
            models.UniqueConstraint(fields=["stage", "ts"], name="sample_stage_ts"),
            models.CheckConstraint(
                condition=Q(throughput__gte=0)
                & Q(capacity__gte=0)
                & Q(latency_p95_ms__gte=0)
                & Q(queue_depth__gte=0)
                & Q(errors__gte=0)
                & Q(dropped__gte=0),
                name="sample_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(utilization__isnull=True)
                | Q(utilization__gte=0, utilization__lte=1),
                name="sample_utilization_share",
            ),
            models.CheckConstraint(
                condition=Q(blocked__isnull=True) | Q(blocked__gte=0, blocked__lte=1),
                name="sample_blocked_share",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} at {self.ts:%Y-%m-%d %H:%M:%S}"


class Rollup(models.Model):
    """One stage's samples over one minute, kept as mergeable sums.

    Charts and per-minute constraint findings read these instead of raw samples.
    """

    # Served by the unique (stage, minute) index, like Sample.stage.
    stage = models.ForeignKey(
        Stage, models.CASCADE, related_name="rollups", db_index=False
    )
    minute = models.DateTimeField()
    first_ts = models.DateTimeField()
    last_ts = models.DateTimeField()
    count = models.PositiveIntegerField()
    capacity_sum = models.FloatField()
    throughput_sum = models.FloatField()
    utilization_sum = models.FloatField()
    utilization_count = models.PositiveIntegerField()
    blocked_sum = models.FloatField()
    blocked_count = models.PositiveIntegerField()
    latency_p95_max = models.FloatField()
    last_queue_depth = models.BigIntegerField()
    time_sum = models.FloatField()
    queue_sum = models.FloatField()
    time_sq_sum = models.FloatField()
    time_queue_sum = models.FloatField()
    queue_sq_sum = models.FloatField()
    errors = models.BigIntegerField()
    dropped = models.BigIntegerField()
    failure_modes = models.JSONField(default=list)

    class Meta:
        constraints = [
            # One row per stage and minute; serves series reads by time range.
            models.UniqueConstraint(
                fields=["stage", "minute"], name="rollup_stage_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} in {self.minute:%Y-%m-%d %H:%M}"


class PendingMinute(models.Model):
    """Work owed: a minute of a stage whose samples changed since it was processed.

    Written in the same transaction as the samples, so an acknowledged batch
    always leaves a record of the processing it needs, whatever the broker does.
    Each batch adds rows of its own, even for a minute already owed; processing
    deletes the rows it read, so a row added after it read stays owed.
    """

    # No database constraints: these rows live seconds, and every batch writes
    # one per stage and minute it touches, each of which a constraint would
    # check with a query and a share lock on the stage (or system) row that
    # every concurrent batch also locks. Deleting a system or stage still
    # deletes its rows (the ORM cascades), and processing skips unknown stages.
    # Nor a unique (stage, minute) key: the batches of one pipeline share their
    # boundary minutes, and with the key each waited for the other's commit.
    system = models.ForeignKey(
        System,
        models.CASCADE,
        related_name="pending_minutes",
        db_constraint=False,
        db_index=False,
    )
    stage = models.ForeignKey(
        Stage, models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    minute = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Serves "what does this system owe", oldest first.
            models.Index(fields=["system", "minute"], name="pending_system_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} owes {self.minute:%Y-%m-%d %H:%M}"


class SystemLedger(models.Model):
    """The processed state of a system: its current ledger and processing flag."""

    system = models.OneToOneField(System, models.CASCADE, related_name="ledger")
    # The ledger as the API returns it; read whole, never recomputed per request.
    payload = models.JSONField(null=True)
    computed_at = models.DateTimeField(null=True)
    window_end = models.DateTimeField(null=True)
    # Coalescing: at most one processing task is queued per system.
    queued = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Ledger of {self.system}"

    # Claiming the flag: it is down, or stale (a task that was lost: broker down
    # or restarted); the INSERT covers a system's first batch. Plain SQL, so
    # that ingest can send it in the same round trip as its samples.
    CLAIM_SQL = (
        "UPDATE metrics_systemledger SET queued = TRUE, queued_at = %s "
        "WHERE system_id = %s AND (NOT queued OR queued_at < %s) RETURNING id"
    )
    CLAIM_FIRST_SQL = (
        "INSERT INTO metrics_systemledger (system_id, queued, queued_at) "
        "VALUES (%s, TRUE, %s) ON CONFLICT (system_id) DO NOTHING RETURNING id"
    )

    @classmethod
    def claim_params(cls, system_id: int) -> tuple[list, list]:
        """The parameters of CLAIM_SQL and CLAIM_FIRST_SQL, as of now."""
        adapt = connection.ops.adapt_datetimefield_value
        now = timezone.now()
        return (
            [adapt(now), system_id, adapt(now - QUEUED_STALE)],
            [system_id, adapt(now)],
        )

    @classmethod
    def mark_queued(cls, system: System) -> bool:
        """Flags the system for processing; True if the caller must enqueue it."""
        claim, claim_first = cls.claim_params(system.pk)
        with connection.cursor() as cursor:
            cursor.execute(cls.CLAIM_SQL, claim)
            if cursor.fetchone() is not None:
                return True
            cursor.execute(cls.CLAIM_FIRST_SQL, claim_first)
            return cursor.fetchone() is not None

    @classmethod
    def release(cls, system_id: int) -> None:
        """Clears the flag: processing starts (a batch from then on enqueues
        anew), or its task could not be sent (the sweeper sends it)."""
        # Plain SQL: processing runs this for every batch.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE metrics_systemledger SET queued = %s WHERE system_id = %s",
                [False, system_id],
            )


class ConstraintFinding(models.Model):
    """Where the constraint sat over the window ending with one closed minute."""

    system = models.ForeignKey(System, models.CASCADE, related_name="findings")
    minute = models.DateTimeField()
    # A stage slug; empty when the constraint was outside the pipeline.
    stage = models.CharField(max_length=40, blank=True)
    headroom = models.FloatField(null=True)
    # The tracker after this minute, so late data can replay from here.
    confirmed = models.CharField(max_length=40, blank=True)
    candidate = models.CharField(max_length=40, blank=True)
    candidate_since = models.DateTimeField(null=True)
    # When the confirmed stage started leading without a break (sample time).
    confirmed_since = models.DateTimeField(null=True)

    class Meta:
        ordering = ["minute"]
        constraints = [
            # One per system and minute; serves the timeline and the replay start.
            models.UniqueConstraint(
                fields=["system", "minute"], name="finding_system_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage or 'outside'} at {self.minute:%Y-%m-%d %H:%M}"


class ConstraintEvent(models.Model):
    """The constraint moved from one stage to another (None: outside the pipeline)."""

    system = models.ForeignKey(System, models.CASCADE, related_name="constraint_events")
    at = models.DateTimeField()
    # The closed minute whose evaluation confirmed the move; replays delete from it.
    decided_minute = models.DateTimeField()
    from_stage = models.CharField(max_length=40, blank=True)
    to_stage = models.CharField(max_length=40, blank=True)
    reason = models.TextField()
    evidence = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Serves the system's event list, newest first.
            models.Index(fields=["system", "-at"], name="event_system_at"),
        ]

    def __str__(self) -> str:
        moved = f"{self.from_stage or 'outside'} → {self.to_stage or 'outside'}"
        return f"{moved} at {self.at}"


class PrometheusSource(models.Model):
    """Where a system's stage samples are pulled from (toc.metrics.prometheus)."""

    system = models.OneToOneField(System, models.CASCADE, related_name="prometheus")
    url = models.CharField(max_length=500)
    interval_s = models.PositiveIntegerField(default=60)
    # The sample time up to which every stage was read; the next pull starts
    # after it, so that a pull missed (server down, workers stopped) is filled.
    pulled_until = models.DateTimeField(null=True)
    # When a pull last started: the beat sends the next one an interval later.
    attempted_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.system} from {self.url}"


class PrometheusQuery(models.Model):
    """The PromQL expression that gives one sample field of one stage."""

    source = models.ForeignKey(PrometheusSource, models.CASCADE, related_name="queries")
    stage = models.ForeignKey(Stage, models.CASCADE, related_name="+")
    field = models.CharField(max_length=20)
    promql = models.TextField()
    last_success_at = models.DateTimeField(null=True)
    # In words, as the page and the API show it.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            # One expression per stage and field; serves the source's query list.
            models.UniqueConstraint(
                fields=["source", "stage", "field"], name="promquery_stage_field"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id}.{self.field}: {self.promql}"

    @property
    def failing(self) -> bool:
        """Its last attempt failed (an error at or after its last success)."""
        if self.last_error_at is None:
            return False
        succeeded = self.last_success_at
        return succeeded is None or self.last_error_at >= succeeded


class SloBudget(models.Model):
    """A live SLO's figures over its window, as the worker last computed them
    (toc.metrics.slo_budgets); pages and the API read them, never recompute."""

    slo = models.OneToOneField(Slo, models.CASCADE, related_name="budget")
    computed_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # Good slices (or events) and slices (or events) with data in the window.
    good = models.FloatField()
    total = models.FloatField()
    compliance = models.FloatField(null=True)  # None without data
    budget_remaining = models.FloatField(null=True)
    # {"5m": 1.2, "30m": …, "1h", "2h", "6h", "1d", "3d"}; None where no data.
    burn_rates = models.JSONField(default=dict)
    alert = models.CharField(max_length=8, blank=True)  # "", "page", "ticket"
    # When the current alert started; kept while it lasts, None without one.
    alert_since = models.DateTimeField(null=True)
    # Hourly over the window, for charts: {"t": [iso…], "budget_remaining":
    # […], "burn_rate_1h": […]}.
    series = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Budget of {self.slo}"
