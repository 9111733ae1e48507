"""The ingest checks: one rule per sample field, which both judges a value and
says what is wrong with it.

A rule takes the value a sample sent for its field (None when the field is
absent or null) and returns the value to store, or a Refusal: the rest of the
sentence "<field> ...". Checking a batch runs each field's rule over the
batch's column of that field, so the rule that lets a batch be stored is the
one that writes the 400 naming each bad sample. Any refusal rejects the whole
batch, listing every refusal of every sample. The rules are plain functions
rather than a serializer's fields: they run for every value of every batch.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

from django.db import connection

from toc.lib.text import UNSTORABLE
from toc.metrics.ingest.parsing import BatchInvalid, FieldError
from toc.systems.models import Stage, StageKind, System, human_capacity

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
class Refusal:
    """What a rule says of a value it will not store."""

    reason: str


# A value in, the value to store or a Refusal out.
Rule = Callable[[object], object]

REQUIRED = Refusal("is required")


def _number(refusal: Refusal, lowest: float, highest: float, *, absent: object) -> Rule:
    """0, or a number from `lowest` to `highest`, stored as a float; `absent`
    is what no value stores (or the refusal it gets)."""

    def rule(value: object) -> object:
        # A float is taken as it is first: most values are floats.
        if type(value) is not float:
            if value is None:
                return absent
            # bool is an int in Python, but `true` is not a measurement.
            if type(value) is not int:
                return refusal
            try:
                value = float(value)  # JavaScript and Go write 1000.0 as 1000
            except OverflowError:  # an integer beyond any float
                return refusal
        # The comparisons are false for NaN and infinities, which JSON cannot
        # carry but a caller's parser might.
        if lowest <= value <= highest or value == 0:
            return value
        return refusal

    return rule


def _whole_number(refusal: Refusal, highest: int, *, absent: object) -> Rule:
    """An integer from 0 to `highest`; `absent` as for _number."""

    def rule(value: object) -> object:
        if type(value) is int and 0 <= value <= highest:
            return value
        return absent if value is None else refusal

    return rule


_TEXT = Refusal(f"must be text of at most {MAX_TEXT} characters")


def _text(value: object) -> object:
    """Text PostgreSQL can store, up to MAX_TEXT characters; none stores ""."""
    if not value:
        return ""
    if type(value) is str and len(value) <= MAX_TEXT and not UNSTORABLE.search(value):
        return value
    return _TEXT


_RATE = Refusal(f"must be 0 or a number from {MIN_POSITIVE} to {MAX_RATE:.0e}")
_SHARE = Refusal(f"must be a share: 0, or from {MIN_POSITIVE} to 1")
_LATENCY = Refusal("must be a finite number, 0 or more")
_QUEUE = Refusal(f"must be a whole number from 0 to {MAX_BIGINT}")
_EVENTS = Refusal(f"must be a whole number from 0 to {MAX_EVENTS}")
# A stage of people has its capacity from the stage (people x pace): its
# samples may leave it out, and the stage's fills it in (validate_batch).
FILLED = "capacity"
_NOT_FILLED = Refusal(
    f"is required; only a human stage's samples may leave {FILLED} out"
)

# The sample's measures, after its stage and ts, in the order of its columns.
MEASURES: tuple[tuple[str, Rule], ...] = (
    ("throughput", _number(_RATE, MIN_POSITIVE, MAX_RATE, absent=REQUIRED)),
    (FILLED, _number(_RATE, MIN_POSITIVE, MAX_RATE, absent=_NOT_FILLED)),
    ("utilization", _number(_SHARE, MIN_POSITIVE, 1.0, absent=None)),
    ("latency_p95_ms", _number(_LATENCY, 0.0, sys.float_info.max, absent=REQUIRED)),
    ("queue_depth", _whole_number(_QUEUE, MAX_BIGINT, absent=REQUIRED)),
    ("errors", _whole_number(_EVENTS, MAX_EVENTS, absent=0)),
    ("dropped", _whole_number(_EVENTS, MAX_EVENTS, absent=0)),
    ("blocked", _number(_SHARE, MIN_POSITIVE, 1.0, absent=None)),
    ("failure_mode", _text),
)
KNOWN_FIELDS = frozenset({"stage", "ts", *(field for field, _ in MEASURES)})


def _stage(stage_ids: Mapping[str, int]) -> Rule:
    """A stage of the system, by slug; its id is stored."""

    def rule(value: object) -> object:
        stage_id = stage_ids.get(value) if type(value) is str else None
        if stage_id is not None:
            return stage_id
        if value is None:
            return REQUIRED
        return Refusal(f"{value!r} is not a stage of this system")

    return rule


_NOT_TEXT = Refusal("must be an ISO 8601 string such as 2026-11-28T12:00:00+00:00")
_NOT_ISO = Refusal("is not an ISO 8601 timestamp")
_NO_OFFSET = Refusal("needs a UTC offset, e.g. +00:00 or Z")
_OUT_OF_RANGE = Refusal("is outside the range of representable times")
_FUTURE = Refusal("is more than 5 minutes in the future; check the sender's clock")
_PAST = Refusal("is before 1970; check the sender's clock")


def _timestamp(now: datetime) -> Rule:
    """An ISO 8601 time with its offset, from 1970 to MAX_FUTURE after `now`;
    stored in UTC."""
    latest = now + MAX_FUTURE

    def rule(value: object) -> object:
        if type(value) is not str:
            return REQUIRED if value is None else _NOT_TEXT
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            return _NOT_ISO
        if ts.tzinfo is None or ts.utcoffset() is None:
            return _NO_OFFSET
        try:
            ts = ts.astimezone(UTC)
        except OverflowError:
            return _OUT_OF_RANGE
        if ts > latest:
            return _FUTURE
        if ts < EARLIEST:
            return _PAST
        return ts

    return rule


def sample_rules(
    stage_ids: Mapping[str, int], now: datetime
) -> tuple[tuple[str, Rule], ...]:
    """Every field's rule, in the order of the sample's columns (SampleRow)."""
    return (("stage", _stage(stage_ids)), ("ts", _timestamp(now)), *MEASURES)


NO_CAPACITIES: Mapping[int, float] = MappingProxyType({})


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
    stage_ids: Mapping[str, int],
    now: datetime,
    capacities: Mapping[int, float] = NO_CAPACITIES,
) -> SampleColumns:
    """The samples as columns to store, each value passed by its field's rule;
    BatchInvalid listing every refusal of every sample if there is one.

    `capacities` (by stage id) fills in the capacity a sample of a human stage
    leaves out (see IngestStages).
    """
    problems: defaultdict[int, list[FieldError]] = defaultdict(list)
    objects = samples
    # Anything but an object gets one error, and no field of it is checked.
    not_objects: set[int] = set()
    if set(map(type, samples)) != {dict}:
        not_objects = {
            index for index, item in enumerate(samples) if not isinstance(item, dict)
        }
        objects = [
            {} if index in not_objects else item for index, item in enumerate(samples)
        ]
        for index in sorted(not_objects):
            problems[index].append(
                FieldError(index, None, "Each sample must be a JSON object.")
            )
    if not set().union(*objects) <= KNOWN_FIELDS:
        for index, item in enumerate(objects):
            problems[index].extend(
                FieldError(index, field, f"{field} is not a sample field")
                for field in sorted(item.keys() - KNOWN_FIELDS)
            )
    columns: list[list] = []
    for field, rule in sample_rules(stage_ids, now):
        values = [item.get(field) for item in objects]
        if field == FILLED and capacities and None in values:
            values = [
                capacities.get(stage_id) if value is None else value
                for stage_id, value in zip(columns[0], values, strict=True)
            ]
        column, refused = _judged(rule, values)
        if refused:
            for index, value in enumerate(column):
                if type(value) is Refusal and index not in not_objects:
                    problems[index].append(
                        FieldError(index, field, f"{field} {value.reason}")
                    )
        columns.append(column)
    if problems:
        raise BatchInvalid(
            [error for index in sorted(problems) for error in problems[index]]
        )
    return SampleColumns(*columns)


def _judged(rule: Rule, values: list) -> tuple[list, bool]:
    """What `rule` makes of each value, and whether it refused any."""
    kinds = set(map(type, values))
    # A batch repeats its texts (one ts per stage, a few stage names) and
    # leaves out the same optional fields: then each distinct value is judged
    # once. (Not numbers: 0.0 and -0.0, or 1 and True, are one key in a dict.)
    if kinds == {str} or kinds == {type(None)}:
        judged = {value: rule(value) for value in set(values)}
        column = list(map(judged.__getitem__, values))
        return column, Refusal in set(map(type, judged.values()))
    column = list(map(rule, values))
    return column, Refusal in set(map(type, column))
