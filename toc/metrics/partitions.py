"""Storage that stays bounded: samples and rollups kept for their retention.

On PostgreSQL, metrics_sample is partitioned by UTC day of `ts` and
metrics_rollup by UTC month of `minute` (migration 0004), each with a DEFAULT
partition that takes rows outside the partitions made (backfills of old data).
The beat makes partitions ahead and drops whole ones past retention, so old
data never leaves by a bulk DELETE. On SQLite, retention is a plain DELETE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from toc.metrics.models import Rollup, Sample

logger = logging.getLogger(__name__)

# How long a partition's drop or attach waits for its locks before giving up
# until the next run: while a drop waits, ingest's inserts queue behind it.
LOCK_TIMEOUT = "1s"


@dataclass(frozen=True)
class Partitioned:
    """A table partitioned by range of `key`, one partition per day or month."""

    table: str
    key: str
    span: str  # "day" or "month"

    @property
    def default(self) -> str:
        return f"{self.table}_default"

    def start_of(self, moment: datetime) -> datetime:
        start = moment.astimezone(UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return start if self.span == "day" else start.replace(day=1)

    def after(self, start: datetime) -> datetime:
        if self.span == "day":
            return start + timedelta(days=1)
        return (start + timedelta(days=32)).replace(day=1)

    @property
    def written(self) -> str:
        """How a partition's name writes the start of its range."""
        return "%Y%m%d" if self.span == "day" else "%Y%m"

    def name(self, start: datetime) -> str:
        return f"{self.table}_p{start.strftime(self.written)}"

    def partitions(self) -> dict[str, datetime]:
        """The partitions made for ranges (not the default), by name, with the
        start of each range."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                "ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
                [self.table],
            )
            names = [name for (name,) in cursor.fetchall()]
        starts = {}
        for name in names:
            try:
                start = datetime.strptime(
                    name.removeprefix(f"{self.table}_p"), self.written
                ).replace(tzinfo=UTC)
            except ValueError:
                continue
            # Only names written as this module writes them ("20261206" could
            # read as a month's "202612" and a day).
            if self.name(start) == name:
                starts[name] = start
        return starts


SAMPLES = Partitioned("metrics_sample", "ts", "day")
ROLLUPS = Partitioned("metrics_rollup", "minute", "month")


def partitions_make_ahead(*, now: datetime | None = None) -> list[str]:
    """Makes the partitions of samples from today to SAMPLE_PARTITIONS_AHEAD_DAYS
    ahead, and of rollups for this month and the next; returns those it made."""
    now = now or timezone.now()
    ahead = timedelta(days=settings.SAMPLE_PARTITIONS_AHEAD_DAYS)
    next_month = ROLLUPS.after(ROLLUPS.start_of(now))
    return partitions_cover(SAMPLES, now, now + ahead) + partitions_cover(
        ROLLUPS, now, next_month
    )


def partitions_cover(table: Partitioned, first: datetime, last: datetime) -> list[str]:
    """Makes the partitions missing from the one holding `first` to the one
    holding `last`; returns those it made. Does nothing on SQLite."""
    if connection.vendor != "postgresql":
        return []
    existing = table.partitions()
    made = []
    start = table.start_of(first)
    while start <= last:
        name = table.name(start)
        if name not in existing and _attach(table, start):
            made.append(name)
        start = table.after(start)
    return made


def _attach(table: Partitioned, start: datetime) -> bool:
    """Makes the partition of the range from `start`; False if its locks
    were not had in time (the next run tries again)."""
    name, end = table.name(start), table.after(start)
    bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # Made apart and attached: attaching locks the parent against other
            # schema changes only, where CREATE ... PARTITION OF would stop ingest.
            cursor.execute(
                f"CREATE TABLE {name} (LIKE {table.table} INCLUDING CONSTRAINTS)"
            )
            # Attaching checks that the default partition holds no row of the
            # range. Ahead ranges find none (ingest refuses samples more than 5
            # minutes ahead) and the default holds only backfills, so the check
            # is quick. A current range may (the beat was down when it began):
            # its rows move over first.
            cursor.execute(f"LOCK TABLE {table.default} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(
                f"WITH moved AS (DELETE FROM {table.default} "
                f"WHERE {table.key} >= %s AND {table.key} < %s RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved",
                [start, end],
            )
            cursor.execute(
                f"ALTER TABLE {table.table} ATTACH PARTITION {name} FOR VALUES {bounds}"
            )
    except OperationalError as error:
        logger.warning("Could not make partition %s, trying next run: %s", name, error)
        return False
    return True


@dataclass(frozen=True)
class Cutoffs:
    """Samples older than `samples` and rollups older than `rollups` go."""

    samples: datetime
    rollups: datetime

    @classmethod
    def at(cls, now: datetime) -> Cutoffs:
        return cls(
            samples=now - timedelta(days=settings.SAMPLE_RETENTION_DAYS),
            rollups=now - timedelta(days=settings.ROLLUP_RETENTION_DAYS),
        )


def retention_apply(*, now: datetime | None = None) -> list[str]:
    """Removes samples past SAMPLE_RETENTION_DAYS and rollups past
    ROLLUP_RETENTION_DAYS; returns the partitions dropped.

    On PostgreSQL a partition goes whole once its whole range is past the
    cutoff, and the default partition loses its rows past it (backfills only,
    few); a partition whose lock could not be had stays until the next run.
    """
    cutoffs = Cutoffs.at(now or timezone.now())
    if connection.vendor != "postgresql":
        Sample.objects.filter(ts__lt=cutoffs.samples).delete()
        Rollup.objects.filter(minute__lt=cutoffs.rollups).delete()
        return []
    dropped = []
    for table, cutoff in [(SAMPLES, cutoffs.samples), (ROLLUPS, cutoffs.rollups)]:
        for name, start in sorted(table.partitions().items()):
            if table.after(start) <= cutoff and _drop(name):
                dropped.append(name)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table.default} WHERE {table.key} < %s", [cutoff]
            )
    return dropped


def _drop(name: str) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute(f"DROP TABLE {name}")
    except OperationalError as error:
        logger.warning("Could not drop partition %s, trying next run: %s", name, error)
        return False
    logger.info("Dropped partition %s, past retention", name)
    return True
