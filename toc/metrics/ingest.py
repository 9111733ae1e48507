"""Validating and storing a batch of stage samples.

The validator is hand-written rather than a serializer: it runs for every
sample of every batch, and a batch is accepted or rejected whole.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import connection, transaction

from toc.lib.text import UNSTORABLE
from toc.metrics.models import PendingMinute, Sample, SystemLedger
from toc.metrics.processing import floor_minute
from toc.metrics.tasks import enqueue_processing
from toc.systems.models import Stage, StageKind, System, human_capacity

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
MAX_TEXT = 200


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


class SampleColumns(NamedTuple):
    """Valid samples as the sample table's columns: SampleRow's fields, a list
    each. A batch is checked and stored a column at a time."""

    stage_id: list[int]
    ts: list[datetime]
    throughput: list[float]
    capacity: list[float]
    utilization: list[float | None]
    latency_p95_ms: list[float]
    queue_depth: list[int]
    errors: list[int]
    dropped: list[int]
    blocked: list[float | None]
    failure_mode: list[str]

    @classmethod
    def of_rows(cls, rows: Sequence[SampleRow]) -> SampleColumns:
        if not rows:
            return cls(*([] for _ in cls._fields))
        return cls(*map(list, zip(*rows, strict=True)))

    @property
    def sample_count(self) -> int:
        return len(self.stage_id)

    def rows(self) -> list[SampleRow]:
        return list(map(SampleRow._make, zip(*self, strict=True)))


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
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson, three times faster, is stricter than the standard parser;
        # what it refuses is read again by the latter, so that a field named
        # with a lone surrogate is still reported by name, and errors are worded
        # alike. Numbers past 64 bits come back as floats from orjson, which
        # the field checks accept or refuse just as the integers.
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


# A check returns the value to store, or INVALID. Absent optional fields read
# as None; each check says what that stores.
INVALID = object()


def _number(value: object) -> float | object:
    # Callers take a float as it is first: most values are floats.
    # bool is an int in Python, but `true` is not a measurement.
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            return INVALID
    return INVALID


def _rate(value: object) -> float | object:
    number = value if type(value) is float else _number(value)
    # The comparisons are false for NaN and infinities, which JSON cannot carry
    # but a caller's parser might.
    if number is INVALID or not (number == 0 or MIN_POSITIVE <= number <= MAX_RATE):
        return INVALID
    return number


def _non_negative(value: object) -> float | object:
    number = value if type(value) is float else _number(value)
    if number is INVALID or not 0 <= number <= sys.float_info.max:
        return INVALID
    return number


def _share(value: object) -> float | object | None:
    if value is None:
        return None
    number = value if type(value) is float else _number(value)
    if number is INVALID or not (number == 0 or MIN_POSITIVE <= number <= 1):
        return INVALID
    return number


def _queue_depth(value: object) -> int | object:
    if type(value) is int and 0 <= value <= MAX_BIGINT:
        return value
    return INVALID


def _events(value: object) -> int | object:
    if value is None:
        return 0
    if type(value) is int and 0 <= value <= MAX_EVENTS:
        return value
    return INVALID


def _failure_mode(value: object) -> str | object:
    if not value:
        return ""
    if type(value) is not str or len(value) > MAX_TEXT or UNSTORABLE.search(value):
        return INVALID
    return value


_RATE = f"must be 0 or a number from {MIN_POSITIVE} to {MAX_RATE:.0e}"
_SHARE = f"must be a share: 0, or from {MIN_POSITIVE} to 1"
_EVENTS = f"must be a whole number from 0 to {MAX_EVENTS}"
# The sample's columns after stage and ts, in order: (field, check, required,
# what a bad value gets told).
CHECKS = (
    ("throughput", _rate, True, _RATE),
    ("capacity", _rate, True, _RATE),
    ("utilization", _share, False, _SHARE),
    ("latency_p95_ms", _non_negative, True, "must be a finite number, 0 or more"),
    (
        "queue_depth",
        _queue_depth,
        True,
        f"must be a whole number from 0 to {MAX_BIGINT}",
    ),
    ("errors", _events, False, _EVENTS),
    ("dropped", _events, False, _EVENTS),
    ("blocked", _share, False, _SHARE),
    (
        "failure_mode",
        _failure_mode,
        False,
        f"must be text of at most {MAX_TEXT} characters",
    ),
)
KNOWN_FIELDS = frozenset({"stage", "ts"} | {field for field, *_ in CHECKS})
_FIELD_CHECKS = tuple((field, check) for field, check, *_ in CHECKS)
# A stage of people has its capacity from the stage (people x pace): its
# samples may leave it out, and the stage's fills it in.
FILLED = "capacity"
_FILLED_AT = [field for field, _ in _FIELD_CHECKS].index(FILLED)
_NOT_FILLED = f"is required; only a human stage's samples may leave {FILLED} out"
NO_CAPACITIES: Mapping[int, float] = MappingProxyType({})


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


class IngestStages(NamedTuple):
    """What checking a batch needs to know of the system's stages."""

    ids: dict[str, int]  # by slug, as a batch names its stages
    # By id: the capacity (records/s) of each stage whose samples may leave
    # theirs out, the stages of people.
    capacities: dict[int, float]


def ingest_stages(system: System) -> IngestStages:
    """The system's stages as a batch is checked against them.

    In SQL: it runs for every batch, and the ORM spent longer building this
    query than PostgreSQL spent answering it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slug, id, kind, people, items_per_hour "
            f"FROM {Stage._meta.db_table} WHERE system_id = %s",
            [system.pk],
        )
        rows = cursor.fetchall()
    return IngestStages(
        ids={slug: stage_id for slug, stage_id, *_ in rows},
        capacities={
            stage_id: human_capacity(people, items_per_hour)
            for _, stage_id, kind, people, items_per_hour in rows
            if kind == StageKind.HUMAN
        },
    )


def validate_batch(
    samples: list,
    stage_ids: dict[str, int],
    now: datetime,
    capacities: Mapping[int, float] = NO_CAPACITIES,
) -> SampleColumns:
    """Checks every sample; any error rejects the batch, listing every problem found.

    `capacities` (by stage id) fills in the capacity a sample of a human stage
    leaves out (see IngestStages).

    It runs for every sample of every batch. A batch whose every value is
    plainly fine passes a column at a time (builtins over lists, in under half
    the time); any other goes sample by sample, each checked as cheaply as can be,
    and only a bad one is looked at again to say what is wrong.
    """
    columns = _columns_if_plainly_valid(samples, stage_ids, now, capacities)
    if columns is not None:
        return columns
    return SampleColumns.of_rows(
        _rows_sample_by_sample(samples, stage_ids, now, capacities)
    )


# Column checks: the column to store, or None when some value needs a closer
# look (which the sample-by-sample checks give, with the same result or an
# error). NaN and infinities make the sum not finite; min and max alone would
# pass over a NaN.
def _floats(values: list) -> list[float] | None:
    kinds = set(map(type, values))
    if kinds == {float}:
        return values
    if kinds <= {float, int}:  # JavaScript and Go write 1000.0 as 1000
        try:
            return [float(value) for value in values]
        except OverflowError:
            return None
    return None


def _zero_or_at_least_min_positive(values: list[float]) -> bool:
    low = min(values)
    if low >= MIN_POSITIVE:
        return True
    return low == 0 and min(filter(None, values), default=1.0) >= MIN_POSITIVE


def _rate_or_share_column(highest: float) -> Callable[[list], list | None]:
    def check(values: list) -> list | None:
        floats = _floats(values)
        if (
            floats is None
            or max(floats) > highest
            or not math.isfinite(sum(floats))
            or not _zero_or_at_least_min_positive(floats)
        ):
            return None
        return floats

    return check


def _whole_number_column(highest: int) -> Callable[[list], list | None]:
    def check(values: list) -> list | None:
        if set(map(type, values)) != {int}:
            return None
        return values if min(values) >= 0 and max(values) <= highest else None

    return check


_rate_column = _rate_or_share_column(MAX_RATE)
_some_shares = _rate_or_share_column(1.0)
_some_events = _whole_number_column(MAX_EVENTS)


def _share_column(values: list) -> list | None:
    if set(map(type, values)) == {type(None)}:
        return values
    return _some_shares(values)


def _events_column(values: list) -> list | None:
    if set(map(type, values)) == {type(None)}:
        return [0] * len(values)
    return _some_events(values)


def _non_negative_column(values: list) -> list | None:
    floats = _floats(values)
    if floats is None or min(floats) < 0 or not math.isfinite(sum(floats)):
        return None
    return floats


def _text_column(values: list) -> list | None:
    if not set(map(type, values)) <= {type(None), str}:
        return None
    texts = [value or "" for value in values]
    if all(
        len(text) <= MAX_TEXT and not UNSTORABLE.search(text) for text in set(texts)
    ):
        return texts
    return None


_COLUMN_CHECKS = {
    _rate: _rate_column,
    _share: _share_column,
    _non_negative: _non_negative_column,
    _queue_depth: _whole_number_column(MAX_BIGINT),
    _events: _events_column,
    _failure_mode: _text_column,
}


def _columns_if_plainly_valid(
    samples: list,
    stage_ids: dict[str, int],
    now: datetime,
    capacities: Mapping[int, float] = NO_CAPACITIES,
) -> SampleColumns | None:
    """The columns, when a column at a time finds every value fine; else None."""
    if set(map(type, samples)) != {dict} or not all(
        map(KNOWN_FIELDS.issuperset, samples)
    ):
        return None
    stages = [sample.get("stage") for sample in samples]
    sent_times = [sample.get("ts") for sample in samples]
    if set(map(type, stages)) != {str} or set(map(type, sent_times)) != {str}:
        return None
    stage_column = list(map(stage_ids.get, stages))
    times = {text: _timestamp(text, now)[0] for text in set(sent_times)}
    if None in stage_column or None in times.values():
        return None
    columns = [stage_column, [times[text] for text in sent_times]]
    for field, check in _FIELD_CHECKS:
        values = [sample.get(field) for sample in samples]
        if field == FILLED and capacities and None in values:
            values = [
                capacities.get(stage_id) if value is None else value
                for stage_id, value in zip(stage_column, values, strict=True)
            ]
        column = _COLUMN_CHECKS[check](values)
        if column is None:
            return None
        columns.append(column)
    return SampleColumns(*columns)


def _rows_sample_by_sample(
    samples: list,
    stage_ids: dict[str, int],
    now: datetime,
    capacities: Mapping[int, float] = NO_CAPACITIES,
) -> list[SampleRow]:
    errors: list[FieldError] = []
    rows: list[SampleRow] = []
    # A pipeline sends one ts for all its stages: each text is parsed once.
    times: dict[str, tuple[datetime | None, str]] = {}
    known = KNOWN_FIELDS.issuperset
    for index, item in enumerate(samples):
        if isinstance(item, dict) and known(item):
            stage, sent_ts = item.get("stage"), item.get("ts")
            stage_id = stage_ids.get(stage) if type(stage) is str else None
            if type(sent_ts) is str:
                if sent_ts not in times:
                    times[sent_ts] = _timestamp(sent_ts, now)
                ts = times[sent_ts][0]
            else:
                ts = None
            get = item.get
            values = [check(get(field)) for field, check in _FIELD_CHECKS]
            if values[_FILLED_AT] is INVALID and get(FILLED) is None:
                values[_FILLED_AT] = _rate(capacities.get(stage_id, INVALID))
            if stage_id is not None and ts is not None and INVALID not in values:
                rows.append(SampleRow(stage_id, ts, *values))
                continue
        # The two looks agree (tests/fuzz); were they ever not to, the sample
        # is refused rather than dropped.
        errors.extend(
            _item_errors(index, item, stage_ids, now, capacities)
            or [FieldError(index, None, "This sample could not be validated.")]
        )
    if errors:
        raise BatchInvalid(errors)
    return rows


def _item_errors(
    index: int,
    item: object,
    stage_ids: dict[str, int],
    now: datetime,
    capacities: Mapping[int, float],
) -> list[FieldError]:
    """Everything wrong with one sample, in words."""
    if not isinstance(item, dict):
        return [FieldError(index, None, "Each sample must be a JSON object.")]
    problems = [
        (field, "is not a sample field") for field in sorted(item.keys() - KNOWN_FIELDS)
    ]
    stage = item.get("stage")
    if "stage" not in item:
        problems.append(("stage", "is required"))
    elif not isinstance(stage, str) or stage not in stage_ids:
        problems.append(("stage", f"{stage!r} is not a stage of this system"))
    if "ts" not in item:
        problems.append(("ts", "is required"))
    else:
        ts, ts_problem = _timestamp(item["ts"], now)
        if ts is None:
            problems.append(("ts", ts_problem))
    for field, check, required, message in CHECKS:
        value = item.get(field)
        if field == FILLED and value is None:
            value = capacities.get(stage_ids.get(stage) if type(stage) is str else None)
            if value is None:
                problems.append((field, _NOT_FILLED))
            elif check(value) is INVALID:
                problems.append((field, message))
        elif required and value is None:
            problems.append((field, "is required"))
        elif check(value) is INVALID:
            problems.append((field, message))
    return [
        FieldError(index, field, f"{field} {message}") for field, message in problems
    ]


_COLUMNS = SampleRow._fields


def samples_store(*, system: System, batch: SampleColumns) -> None:
    """Writes the samples durably, with the work they create, in one transaction.

    A retried sample (same stage and ts) is skipped, so retries never duplicate.
    Processing is enqueued after commit, at most once per system at a time.

    Every batch takes its locks in one order (samples, then the ledger flag;
    samples sorted), so that batches sharing rows cannot deadlock. Owed minutes
    take none: each batch adds its own rows (PendingMinute).
    """
    # A batch repeats each ts once per stage: each is floored once.
    minute_of = {ts: floor_minute(ts) for ts in set(batch.ts)}
    pairs = zip(batch.stage_id, batch.ts, strict=True)
    minutes = list({(stage, minute_of[ts]) for stage, ts in pairs})
    if connection.vendor == "postgresql":
        must_enqueue = _store_postgres(system, batch, minutes)
    else:
        with transaction.atomic():
            _insert_portable(system, batch, minutes)
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

-- Rows of this batch's own, even for minutes already owed: processing that
-- read the owed minutes before these samples were committed leaves them owed.
INSERT INTO metrics_pendingminute (system_id, stage_id, minute, created)
SELECT %s, stage_id, minute, now()
FROM unnest(%s::bigint[], %s::timestamptz[]) AS owed(stage_id, minute);

{SystemLedger.CLAIM_SQL};
{SystemLedger.CLAIM_FIRST_SQL}
"""


def _store_postgres(
    system: System, batch: SampleColumns, minutes: list[tuple[int, datetime]]
) -> bool:
    """Stores the batch; True if this batch claimed the processing flag."""
    stage_ids, ts, *measures, failure_modes = batch
    claim, claim_first = SystemLedger.claim_params(system.pk)
    params = [
        _numbers(stage_ids),
        _times(ts),
        *map(_numbers, measures),
        _texts(failure_modes),
        system.pk,
        _numbers([stage_id for stage_id, _ in minutes]),
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


# Array literals. Numbers: orjson writes a JSON list in C, twenty times faster
# than joining each repr, and its items read as an array's (null as NULL);
# each float is the shortest text that reads back as the same float, so
# nothing is lost on the way. Texts are quoted, times in ISO 8601.
def _numbers(values: Sequence[float | int | None]) -> str:
    return "{" + orjson.dumps(values)[1:-1].decode() + "}"


def _times(values: Iterable[datetime]) -> str:
    return _array(values, datetime.isoformat)


def _texts(values: Iterable[str]) -> str:
    return _array(values, _quoted)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _array(values: Iterable, write: Callable[[Any], str]) -> str:
    # A batch repeats its times and texts (one ts per stage): each distinct
    # value is written once.
    written: dict = {}
    texts = []
    for value in values:
        text = written.get(value)
        if text is None:
            text = written[value] = write(value)
        texts.append(text)
    return "{" + ",".join(texts) + "}"


def _insert_portable(
    system: System, batch: SampleColumns, minutes: list[tuple[int, datetime]]
) -> None:
    Sample.objects.bulk_create(
        (Sample(**row._asdict()) for row in batch.rows()), ignore_conflicts=True
    )
    PendingMinute.objects.bulk_create(
        PendingMinute(system=system, stage_id=s, minute=m) for s, m in minutes
    )
