"""The ingest checks on their own: one rule per field, which stores or explains."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from toc.metrics.ingest import (
    MAX_EVENTS,
    MIN_POSITIVE,
    BatchInvalid,
    SampleColumns,
    SampleRow,
    validate_batch,
)
from toc.metrics.ingest.checks import sample_rules
from toc.metrics.rollups import SAMPLE_FIELDS

NOW = datetime.now(UTC) - timedelta(minutes=1)
HUMAN = "triage"
STAGE_IDS = {"ingest": 1, "features": 2, "inference": 3, HUMAN: 4}
CAPACITIES = {4: 6 / 3600}


def test_a_pipelines_plain_batch_becomes_columns() -> None:
    sample = {
        "stage": "ingest",
        "ts": NOW.isoformat(),
        "throughput": 0.0,
        "capacity": 1200,
        "utilization": 0.5,
        "latency_p95_ms": 12.5,
        "queue_depth": 3,
        "failure_mode": None,
    }
    batch = [sample, {**sample, "stage": "features", "throughput": 640.25}]
    columns = validate_batch(batch, {"ingest": 1, "features": 2}, NOW)
    assert list(
        zip(columns.stage_id, columns.throughput, columns.capacity, strict=True)
    ) == [
        (1, 0.0, 1200.0),
        (2, 640.25, 1200.0),
    ]


def test_a_batch_leaving_people_their_capacity_takes_the_stages() -> None:
    machine = {
        "stage": "ingest",
        "ts": NOW.isoformat(),
        "throughput": 10.0,
        "capacity": 1200.0,
        "latency_p95_ms": 12.5,
        "queue_depth": 3,
    }
    human = {k: v for k, v in machine.items() if k != "capacity"} | {"stage": HUMAN}
    batch = [machine, human]
    columns = validate_batch(batch, STAGE_IDS, NOW, CAPACITIES)
    assert columns.capacity == [1200.0, 6 / 3600]
    assert columns.rows() == [
        row
        for sample in batch
        for row in validate_batch([sample], STAGE_IDS, NOW, CAPACITIES).rows()
    ]
    # Without the stage's capacity, the batch is refused.
    with pytest.raises(BatchInvalid) as refused:
        validate_batch(batch, STAGE_IDS, NOW + timedelta(minutes=1))
    assert [(e.index, e.field) for e in refused.value.errors] == [(1, "capacity")]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("throughput", MIN_POSITIVE / 2),
        ("throughput", math.nan),
        ("capacity", math.inf),
        ("capacity", math.nan),
        ("utilization", math.nan),
        ("utilization", 1.5),
        ("latency_p95_ms", math.inf),
        ("latency_p95_ms", math.nan),
        ("queue_depth", -1),
        ("errors", MAX_EVENTS + 1),
        ("failure_mode", "x" * 201),
    ],
)
def test_a_bad_value_among_plain_ones_is_refused(field, bad) -> None:
    """A NaN that is not first, and a value just past a limit after a zero."""
    plain = {
        "stage": "ingest",
        "ts": NOW.isoformat(),
        "throughput": 0.0,
        "capacity": 1.0,
        "utilization": 0.0,
        "latency_p95_ms": 1.0,
        "queue_depth": 0,
        "errors": 0,
        "failure_mode": "",
    }
    batch = [plain, plain, {**plain, field: bad}]
    with pytest.raises(BatchInvalid) as refused:
        validate_batch(batch, {"ingest": 1}, NOW + timedelta(minutes=1))
    assert [(error.index, error.field) for error in refused.value.errors] == [
        (2, field)
    ]


def test_every_problem_of_every_sample_is_named_in_order() -> None:
    good = {
        "stage": "ingest",
        "ts": NOW.isoformat(),
        "throughput": 1.0,
        "capacity": 2.0,
        "latency_p95_ms": 3.0,
        "queue_depth": 4,
    }
    batch = [
        good,
        {**good, "stage": "nope", "colour": "red", "queue_depth": 1.5},
        7,
        {"stage": "features"},
        {**good, "ts": NOW.replace(tzinfo=None).isoformat(), "blocked": True},
    ]
    with pytest.raises(BatchInvalid) as refused:
        validate_batch(batch, STAGE_IDS, NOW)
    assert [error.as_dict() for error in refused.value.errors] == [
        {"index": 1, "field": "colour", "message": "colour is not a sample field"},
        {
            "index": 1,
            "field": "stage",
            "message": "stage 'nope' is not a stage of this system",
        },
        {
            "index": 1,
            "field": "queue_depth",
            "message": "queue_depth must be a whole number from 0 to "
            "9223372036854775807",
        },
        {"index": 2, "field": None, "message": "Each sample must be a JSON object."},
        {"index": 3, "field": "ts", "message": "ts is required"},
        {"index": 3, "field": "throughput", "message": "throughput is required"},
        {
            "index": 3,
            "field": "capacity",
            "message": "capacity is required; only a human stage's samples may "
            "leave capacity out",
        },
        {
            "index": 3,
            "field": "latency_p95_ms",
            "message": "latency_p95_ms is required",
        },
        {"index": 3, "field": "queue_depth", "message": "queue_depth is required"},
        {
            "index": 4,
            "field": "ts",
            "message": "ts needs a UTC offset, e.g. +00:00 or Z",
        },
        {
            "index": 4,
            "field": "blocked",
            "message": "blocked must be a share: 0, or from 1e-09 to 1",
        },
    ]


def test_the_rules_and_processing_name_the_columns_in_order() -> None:
    fields = [field for field, _ in sample_rules(STAGE_IDS, NOW)]
    assert fields == ["stage", *SampleRow._fields[1:]]
    assert SampleRow._fields[1:] == SAMPLE_FIELDS


def test_columns_and_rows_name_the_same_fields_in_the_same_order() -> None:
    assert SampleColumns._fields == SampleRow._fields
    row = SampleRow(1, NOW, 1.0, 2.0, None, 3.0, 4, 0, 0, None, "")
    assert SampleColumns.of_rows([row]).rows() == [row]
    assert SampleColumns.of_rows([]).sample_count == 0
