"""Validating and storing a batch of stage samples.

The validator is hand-written rather than a serializer: it runs for every
sample of every batch, and a batch is accepted or rejected whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

from toc.metrics.models import PendingMinute, Sample, SystemLedger
from toc.metrics.processing import floor_minute
from toc.metrics.tasks import enqueue_processing
from toc.systems.models import System
from toc.text import UNSTORABLE

MAX_SAMPLES = 5000
MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_FUTURE = timedelta(minutes=5)
# No pipeline's clock reads earlier; an earlier time is a clock gone wrong, and
# windows computed around it would leave the range of Python's datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BIGINT = 2**63 - 1
# Rollups and series sum and divide a minute's samples in PostgreSQL, which
# fails on a float8 or bigint overflow or underflow instead of saturating: one
# accepted sample past these would stop its system's processing for good.
# Rates and shares are 0 or from MIN_POSITIVE; rates at most MAX_RATE (a
# trillion records/s); errors and drops at most MAX_EVENTS a sample, so that
# even 60 million samples in one minute (one a microsecond) sum within a bigint.
MIN_POSITIVE = 1e-9
MAX_RATE = 1e12
MAX_EVENTS = 10**11
RATES = ("throughput", "capacity")
MAX_TEXT = 200

REQUIRED_NUMBERS = ("throughput", "capacity", "latency_p95_ms")
OPTIONAL_SHARES = ("utilization", "blocked")
OPTIONAL_COUNTS = ("errors", "dropped")
KNOWN_FIELDS = frozenset(
    {"stage", "ts", "queue_depth", "failure_mode"}
    | set(REQUIRED_NUMBERS)
    | set(OPTIONAL_SHARES)
    | set(OPTIONAL_COUNTS)
)


class SampleRow(NamedTuple):
    """A valid sample; its fields are the sample table's columns, in order."""

    stage_id: int
    ts: datetime
    throughput: float
    capacity: float
    utilization: float | None
    latency_p95_ms: float
    queue_depth: int
    errors: int
    dropped: int
    blocked: float | None
    failure_mode: str


@dataclass(frozen=True, slots=True)
class FieldError:
    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "field": None if self.field is None else _shown(self.field),
            "message": _shown(self.message),
        }


def _shown(text: str) -> str:
    """The text, with NUL and unpaired surrogates written as JSON escapes: a
    field name sent with them is echoed in the error."""
    if not UNSTORABLE.search(text):
        return text
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


class BatchInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message if errors else "invalid batch")
        self.errors = errors


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_batch(body: bytes) -> list:
    """The list of sample objects in the body, or BatchInvalid saying what is wrong."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise BatchInvalid(
            [FieldError(None, None, f"Malformed JSON: {error}")]
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("samples"), list):
        raise BatchInvalid(
            [
                FieldError(
                    None, "samples", 'Send {"samples": [ ... ]}, a list of samples.'
                )
            ]
        )
    samples = payload["samples"]
    if not samples:
        raise BatchInvalid([FieldError(None, "samples", "The batch has no samples.")])
    if len(samples) > MAX_SAMPLES:
        raise BatchInvalid(
            [
                FieldError(
                    None,
                    "samples",
                    f"{len(samples)} samples in one batch; the limit is {MAX_SAMPLES}.",
                )
            ]
        )
    return samples


def _number(value: object) -> float | None:
    # bool is an int in Python, but `true` is not a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _measure(number: float | None, highest: float) -> bool:
    return number is not None and (number == 0 or MIN_POSITIVE <= number <= highest)


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _timestamp(value: object, now: datetime) -> tuple[datetime | None, str]:
    if not isinstance(value, str):
        return None, "must be an ISO 8601 string such as 2026-11-28T12:00:00+00:00"
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None, "is not an ISO 8601 timestamp"
    if ts.tzinfo is None or ts.utcoffset() is None:
        return None, "needs a UTC offset, e.g. +00:00 or Z"
    try:
        ts = ts.astimezone(UTC)
    except OverflowError:
        return None, "is outside the range of representable times"
    if ts > now + MAX_FUTURE:
        return None, "is more than 5 minutes in the future; check the sender's clock"
    if ts < EARLIEST:
        return None, "is before 1970; check the sender's clock"
    return ts, ""


def _text(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_TEXT or UNSTORABLE.search(value):
        return None
    return value


def validate_batch(
    samples: list, stage_ids: dict[str, int], now: datetime
) -> list[SampleRow]:
    """Checks every sample; any error rejects the batch, listing every problem found."""
    errors: list[FieldError] = []
    rows: list[SampleRow] = []
    # A pipeline sends one ts for all its stages: each text is parsed once.
    times: dict[str, tuple[datetime | None, str]] = {}
    for index, item in enumerate(samples):
        if not isinstance(item, dict):
            errors.append(FieldError(index, None, "Each sample must be a JSON object."))
            continue
        problems: list[tuple[str, str]] = []
        for field in sorted(set(item) - KNOWN_FIELDS):
            problems.append((field, "is not a sample field"))

        stage = item.get("stage")
        stage_id = stage_ids.get(stage) if isinstance(stage, str) else None
        if "stage" not in item:
            problems.append(("stage", "is required"))
        elif stage_id is None:
            problems.append(("stage", f"{stage!r} is not a stage of this system"))

        sent_ts = item.get("ts")
        if "ts" not in item:
            ts, ts_problem = None, "is required"
        elif isinstance(sent_ts, str):
            if sent_ts not in times:
                times[sent_ts] = _timestamp(sent_ts, now)
            ts, ts_problem = times[sent_ts]
        else:
            ts, ts_problem = _timestamp(sent_ts, now)
        if ts is None:
            problems.append(("ts", ts_problem))

        numbers: dict[str, float | None] = {}
        for field in REQUIRED_NUMBERS:
            if field not in item:
                problems.append((field, "is required"))
                continue
            number = _number(item[field])
            if field in RATES and not _measure(number, MAX_RATE):
                problems.append(
                    (
                        field,
                        f"must be 0 or a number from {MIN_POSITIVE} to {MAX_RATE:.0e}",
                    )
                )
            elif number is None or number < 0:
                problems.append((field, "must be a finite number, 0 or more"))
            numbers[field] = number
        for field in OPTIONAL_SHARES:
            if item.get(field) is None:
                numbers[field] = None
                continue
            number = _number(item[field])
            if not _measure(number, 1):
                problems.append(
                    (field, f"must be a share: 0, or from {MIN_POSITIVE} to 1")
                )
            numbers[field] = number

        counts: dict[str, int] = {}
        for field, required in (
            ("queue_depth", True),
            ("errors", False),
            ("dropped", False),
        ):
            if item.get(field) is None:
                if required:
                    problems.append((field, "is required"))
                counts[field] = 0
                continue
            count = _count(item[field])
            limit = MAX_BIGINT if field == "queue_depth" else MAX_EVENTS
            if count is None or not 0 <= count <= limit:
                problems.append((field, f"must be a whole number from 0 to {limit}"))
            counts[field] = count or 0

        failure_mode = item.get("failure_mode") or ""
        if failure_mode and _text(failure_mode) is None:
            problems.append(
                ("failure_mode", f"must be text of at most {MAX_TEXT} characters")
            )

        if problems:
            errors.extend(
                FieldError(index, field, f"{field} {msg}") for field, msg in problems
            )
            continue
        rows.append(
            SampleRow(
                stage_id=stage_id,
                ts=ts,
                throughput=numbers["throughput"],
                capacity=numbers["capacity"],
                utilization=numbers["utilization"],
                latency_p95_ms=numbers["latency_p95_ms"],
                queue_depth=counts["queue_depth"],
                errors=counts["errors"],
                dropped=counts["dropped"],
                blocked=numbers["blocked"],
                failure_mode=failure_mode,
            )
        )
    if errors:
        raise BatchInvalid(errors)
    return rows


_COLUMNS = SampleRow._fields


def samples_store(*, system: System, rows: list[SampleRow]) -> None:
    """Writes the rows durably, with the work they create, in one transaction.

    A retried sample (same stage and ts) is skipped, so retries never duplicate.
    Processing is enqueued after commit, at most once per system at a time.

    Every batch takes its locks in one order (samples, owed minutes, the ledger
    flag; each sorted), so that batches sharing rows cannot deadlock. Batches
    of one pipeline share their boundary minutes, and an owed minute stays
    locked until commit: the shorter the transaction, the shorter the wait.
    """
    minutes = sorted({(row.stage_id, floor_minute(row.ts)) for row in rows})
    if connection.vendor == "postgresql":
        must_enqueue = _store_postgres(system, rows, minutes)
    else:
        with transaction.atomic():
            _insert_portable(system, rows, minutes)
            must_enqueue = SystemLedger.mark_queued(system)
    if must_enqueue:
        # At once in autocommit; after the commit inside a caller's transaction.
        transaction.on_commit(lambda: enqueue_processing(system.pk))


# One simple query: PostgreSQL runs its statements in order as one transaction
# (or within the caller's), in one round trip, so no lock waits on the client
# between statements. The batch travels as one array literal per column.
_STORE_SQL = f"""
INSERT INTO metrics_sample ({", ".join(_COLUMNS)}, received_at)
SELECT *, now() FROM unnest(
    %s::bigint[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[],
    %s::float8[], %s::bigint[], %s::bigint[], %s::bigint[], %s::float8[],
    %s::text[]
) AS sample({", ".join(_COLUMNS)})
ORDER BY stage_id, ts
ON CONFLICT (stage_id, ts) DO NOTHING;

-- An owed minute is marked anew (a newer `created`): processing that read it
-- before these samples were committed then leaves it owed (system_process).
INSERT INTO metrics_pendingminute (system_id, stage_id, minute, created)
SELECT %s, stage_id, minute, now()
FROM unnest(%s::bigint[], %s::timestamptz[]) AS owed(stage_id, minute)
ORDER BY stage_id, minute
ON CONFLICT (stage_id, minute) DO UPDATE SET created = EXCLUDED.created;

{SystemLedger.CLAIM_SQL};
{SystemLedger.CLAIM_FIRST_SQL}
"""


def _store_postgres(
    system: System, rows: list[SampleRow], minutes: list[tuple[int, datetime]]
) -> bool:
    """Stores the batch; True if this batch claimed the processing flag."""
    stage_ids, ts, *measures, failure_modes = zip(*rows, strict=True)
    claim, claim_first = SystemLedger.claim_params(system.pk)
    params = [
        _numbers(stage_ids),
        _times(ts),
        *map(_numbers, measures),
        _texts(failure_modes),
        system.pk,
        _numbers(stage_id for stage_id, _ in minutes),
        _times(minute for _, minute in minutes),
        *claim,
        *claim_first,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_STORE_SQL, params)
        cursor.nextset()  # the owed minutes
        cursor.nextset()  # the claim
        claimed = cursor.fetchone() is not None
        cursor.nextset()  # the claim of a system's first batch
        return cursor.fetchone() is not None or claimed


# Array literals: repr gives the shortest text that reads back as the same
# float, so nothing is lost on the way; texts are quoted, times in ISO 8601.
def _numbers(values: Iterable[float | int | None]) -> str:
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def _times(values: Iterable[datetime]) -> str:
    # A batch repeats each ts once per stage: each is written once.
    written: dict[datetime, str] = {}
    texts = []
    for value in values:
        text = written.get(value)
        if text is None:
            text = written[value] = value.isoformat()
        texts.append(text)
    return "{" + ",".join(texts) + "}"


def _texts(values: Iterable[str]) -> str:
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def _insert_portable(
    system: System, rows: list[SampleRow], minutes: list[tuple[int, datetime]]
) -> None:
    Sample.objects.bulk_create(
        (Sample(**row._asdict()) for row in rows), ignore_conflicts=True
    )
    PendingMinute.objects.bulk_create(
        (PendingMinute(system=system, stage_id=s, minute=m) for s, m in minutes),
        update_conflicts=True,
        unique_fields=["stage", "minute"],
        update_fields=["created"],
    )
