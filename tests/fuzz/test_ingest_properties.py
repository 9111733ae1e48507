"""Property tests of the ingest endpoint: whatever arrives, the answer is JSON and
never a 5xx; and what was accepted is what the database holds.

Each example runs in a savepoint that is rolled back, with processing run as it
would after a commit, so a bad sample that crashed the rollups would fail here.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toc.accounts.models import Role
from toc.metrics.ingest import (
    MAX_BIGINT,
    MAX_EVENTS,
    MAX_RATE,
    MIN_POSITIVE,
    BatchInvalid,
    SampleColumns,
    SampleRow,
    _columns_if_plainly_valid,
    _rows_sample_by_sample,
    validate_batch,
)
from toc.metrics.models import Sample
from toc.metrics.processing import SAMPLE_FIELDS

pytestmark = pytest.mark.both_databases

STAGES = ["ingest", "features", "inference"]
FIELDS = ["stage", *SAMPLE_FIELDS]
# Samples are judged against the time of the request; the strategies use a
# fixed "now" a little earlier, so that every generated time is in the past.
NOW = datetime.now(UTC) - timedelta(minutes=1)

FUZZ = settings(
    max_examples=int(os.environ.get("TOC_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any offset Python allows (PostgreSQL allows less; times are stored in UTC).
offsets = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59),
        max_value=timedelta(hours=23, minutes=59),
    ).map(lambda d: timedelta(minutes=round(d.total_seconds() / 60))),
)
# From 1970 (earlier times are refused as a clock gone wrong) to a minute ago.
sample_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=NOW.replace(tzinfo=None)
).map(lambda moment: moment.replace(tzinfo=UTC))
# Text PostgreSQL can store: no NUL, no surrogates (Hypothesis's "Cs" category).
storable_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=200,
)
# Up to the limits ingest accepts (and their edges).
rates = st.one_of(
    st.floats(min_value=MIN_POSITIVE, max_value=MAX_RATE),
    st.integers(min_value=0, max_value=int(MAX_RATE)),
    st.sampled_from([0, 0.0, MIN_POSITIVE, MAX_RATE]),
)
latencies = st.one_of(
    st.floats(min_value=0, allow_infinity=False), st.sampled_from([1e308, 5e-324])
)
shares = st.one_of(
    st.none(), st.just(0.0), st.floats(min_value=MIN_POSITIVE, max_value=1)
)
queue_depths = st.integers(min_value=0, max_value=MAX_BIGINT)
counts = st.integers(min_value=0, max_value=MAX_EVENTS)


@st.composite
def valid_samples(draw) -> tuple[dict, datetime]:
    moment = draw(sample_times)
    sample = {
        "stage": draw(st.sampled_from(STAGES)),
        "ts": moment.astimezone(draw(offsets)).isoformat(),
        "throughput": draw(rates),
        "capacity": draw(rates),
        "latency_p95_ms": draw(latencies),
        "queue_depth": draw(queue_depths),
    }
    for name, values in (
        ("utilization", shares),
        ("blocked", shares),
        ("errors", counts),
        ("dropped", counts),
        ("failure_mode", storable_text),
    ):
        if draw(st.booleans()):
            sample[name] = draw(values)
    return sample, moment


# Values of every JSON type and then some: NaN and infinities (which Python's
# json writes as bare words), numbers past any column, NUL and lone surrogates.
nasty_text = st.one_of(
    st.text(),
    st.sampled_from(["\x00", "ingest\x00", "\ud800", "a\udfffb", "", "INGEST"]),
)
nasty_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 10, max_value=2**70),
    st.integers(max_value=-(2**63) + 10, min_value=-(2**70)),
    st.floats(),
    st.sampled_from([1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
    nasty_text,
    st.sampled_from(
        [
            "9999-12-31T23:59:59+00:00",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "0001-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-01T12:00:00",
        ]
    ),
)
json_values = st.recursive(
    nasty_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def nasty_samples(draw) -> object:
    """Mostly sample-shaped objects with some fields wrong, missing or extra."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    sample, _ = draw(valid_samples())
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.booleans()):
            sample.pop(name, None)
        else:
            sample[name] = draw(json_values)
    if draw(st.integers(0, 4)) == 0:
        sample[draw(nasty_text)] = draw(json_values)
    return sample


payloads = st.one_of(
    st.builds(
        lambda samples: {"samples": samples}, st.lists(nasty_samples(), max_size=4)
    ),
    json_values,
)


def _post(ingest_key: str, body: bytes | str, capture) -> object:
    with capture(execute=True):
        return Client().post(
            "/api/v1/systems/fraud/samples/",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {ingest_key}"},
        )


@pytest.mark.django_db
@FUZZ
@given(payload=payloads)
def test_any_payload_gets_a_json_4xx_or_a_202(
    payload, ingest_key, django_capture_on_commit_callbacks
) -> None:
    # allow_nan: NaN and Infinity go out as the bare words some clients send.
    body = json.dumps(payload, allow_nan=True)
    with transaction.atomic():
        response = _post(ingest_key, body, django_capture_on_commit_callbacks)
        transaction.set_rollback(True)
    assert response.status_code in (202, 400), response.content
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    if response.status_code == 400:
        assert answer["errors"]
        assert all(
            set(error) == {"index", "field", "message"} for error in answer["errors"]
        )


@pytest.mark.django_db
@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_get_a_json_400(
    raw, ingest_key, django_capture_on_commit_callbacks
) -> None:
    with transaction.atomic():
        response = _post(ingest_key, raw, django_capture_on_commit_callbacks)
        transaction.set_rollback(True)
    assert response.status_code in (202, 400), response.content
    assert "errors" in response.json() or response.status_code == 202


def _read_back(stage_slug: str, moment: datetime) -> dict:
    row = Sample.objects.values().get(stage__slug=stage_slug, ts=moment)
    return {name: row[name] for name in FIELDS if name not in ("stage", "ts")}


def _expected(sample: dict) -> dict:
    return {
        "throughput": float(sample["throughput"]),
        "capacity": float(sample["capacity"]),
        "latency_p95_ms": float(sample["latency_p95_ms"]),
        "queue_depth": sample["queue_depth"],
        "utilization": sample.get("utilization"),
        "blocked": sample.get("blocked"),
        "errors": sample.get("errors", 0),
        "dropped": sample.get("dropped", 0),
        "failure_mode": sample.get("failure_mode", ""),
    }


# Batches of valid samples, each (stage, time) once: all of a batch is stored.
accepted_batches = st.lists(
    valid_samples(),
    min_size=1,
    max_size=6,
    unique_by=lambda drawn: (drawn[0]["stage"], drawn[1]),
)


@pytest.mark.django_db
@FUZZ
@given(batch=accepted_batches)
def test_an_accepted_batch_reads_back_equal_and_the_series_and_ledger_read_it(
    batch, ingest_key, world, django_capture_on_commit_callbacks
) -> None:
    samples = [sample for sample, _ in batch]
    newest = max(moment for _, moment in batch)
    start = newest - timedelta(days=1)
    viewer = Client(headers={"Authorization": f"Bearer {world.tokens[Role.VIEWER]}"})
    with transaction.atomic():
        response = _post(
            ingest_key,
            json.dumps({"samples": samples}),
            django_capture_on_commit_callbacks,
        )
        assert response.status_code == 202, response.json()
        assert response.json() == {"accepted": len(samples)}
        for sample, moment in batch:
            assert _read_back(sample["stage"], moment) == _expected(sample)
        ledger = viewer.get("/api/v1/systems/fraud/ledger/")
        series = viewer.get(
            "/api/v1/systems/fraud/series/",
            {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat()},
        )
        transaction.set_rollback(True)
    assert ledger.status_code == 200, ledger.content
    assert series.status_code == 200, series.content
    assert {line["stage"] for line in series.json()["stages"]} == set(STAGES)


# The checks alone also meet a stage of people, whose samples may leave their
# capacity to the stage; some samples are moved to it, some lose their capacity.
HUMAN = "triage"
CHECKED_STAGE_IDS = {
    **{slug: pk for pk, slug in enumerate(STAGES, start=1)},
    HUMAN: len(STAGES) + 1,
}
CAPACITIES = {len(STAGES) + 1: 6 / 3600}


@st.composite
def some_for_people(draw, batches: st.SearchStrategy) -> list:
    batch = draw(batches)
    for sample in batch:
        if not isinstance(sample, dict):
            continue
        if draw(st.integers(0, 3)) == 0:
            sample["stage"] = HUMAN
        if draw(st.integers(0, 3)) == 0:
            if draw(st.booleans()):
                sample.pop("capacity", None)
            else:
                sample["capacity"] = None
    return batch


@FUZZ
@given(samples=some_for_people(st.lists(nasty_samples(), min_size=1, max_size=5)))
def test_every_sample_is_stored_or_explained(samples) -> None:
    """A batch is accepted whole, or each bad sample (and only a bad one) is
    named by index: nothing is dropped without a word."""
    stage_ids = CHECKED_STAGE_IDS
    now = datetime.now(UTC)
    alone = []
    for sample in samples:
        try:
            rows = validate_batch([sample], stage_ids, now, CAPACITIES).rows()
            assert len(rows) == 1
            alone.append(rows)
        except BatchInvalid as invalid:
            assert invalid.errors
            assert {error.index for error in invalid.errors} == {0}
            alone.append(None)
    bad = {index for index, rows in enumerate(alone) if rows is None}
    try:
        rows = validate_batch(samples, stage_ids, now, CAPACITIES).rows()
    except BatchInvalid as invalid:
        assert {error.index for error in invalid.errors} == bad
    else:
        assert not bad
        assert rows == [row for single in alone for row in single]


OPTIONAL_VALUES = {
    "utilization": shares.filter(lambda share: share is not None),
    "blocked": shares.filter(lambda share: share is not None),
    "errors": counts,
    "dropped": counts,
    "failure_mode": storable_text,
}
# Numbers just inside and outside every limit, and any float or integer.
edge_numbers = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(
        [
            0,
            0.0,
            -0.0,
            -1,
            MIN_POSITIVE / 2,
            MIN_POSITIVE,
            1,
            1.0000000000000002,
            MAX_RATE,
            MAX_RATE * 1.0000001,
            MAX_EVENTS,
            MAX_EVENTS + 1,
            MAX_BIGINT,
            MAX_BIGINT + 1,
            1e308,
            math.inf,
            -math.inf,
            math.nan,
        ]
    ),
)
edge_texts = st.one_of(nasty_text, st.text(min_size=199, max_size=202))


@st.composite
def uniform_batches(draw) -> list[dict]:
    """Samples that all carry the same fields, as a pipeline's do, with values
    mostly valid and some just past a limit."""
    carried = draw(st.sets(st.sampled_from(sorted(OPTIONAL_VALUES))))
    batch = []
    for _ in range(draw(st.integers(1, 6))):
        sample, _ = draw(valid_samples())
        for name in OPTIONAL_VALUES:
            sample.pop(name, None)
        for name in carried:
            sample[name] = draw(OPTIONAL_VALUES[name])
        for name in sample.keys() - {"stage", "ts"}:
            if draw(st.integers(0, 3)) == 0:
                edges = edge_texts if name == "failure_mode" else edge_numbers
                sample[name] = draw(edges)
        batch.append(sample)
    return batch


@FUZZ
@given(
    samples=some_for_people(
        st.one_of(uniform_batches(), st.lists(nasty_samples(), min_size=1, max_size=5))
    )
)
def test_the_column_checks_pass_only_what_the_sample_checks_pass(samples) -> None:
    """A batch the column checks pass is stored as sample-by-sample checking
    would store it; one they do not pass gets the sample-by-sample answer."""
    stage_ids = CHECKED_STAGE_IDS
    now = datetime.now(UTC)
    by_columns = _columns_if_plainly_valid(samples, stage_ids, now, CAPACITIES)
    if by_columns is not None:
        assert by_columns.rows() == _rows_sample_by_sample(
            samples, stage_ids, now, CAPACITIES
        )


def test_a_pipelines_plain_batch_passes_a_column_at_a_time() -> None:
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
    columns = _columns_if_plainly_valid(batch, {"ingest": 1, "features": 2}, NOW)
    assert columns is not None
    assert list(
        zip(columns.stage_id, columns.throughput, columns.capacity, strict=True)
    ) == [
        (1, 0.0, 1200.0),
        (2, 640.25, 1200.0),
    ]


def test_a_plain_batch_leaving_people_their_capacity_passes_a_column_at_a_time():
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
    columns = _columns_if_plainly_valid(batch, CHECKED_STAGE_IDS, NOW, CAPACITIES)
    assert columns is not None
    assert columns.capacity == [1200.0, 6 / 3600]
    assert columns.rows() == _rows_sample_by_sample(
        batch, CHECKED_STAGE_IDS, NOW, CAPACITIES
    )
    # Without the stage's capacity, the batch goes sample by sample and is refused.
    assert _columns_if_plainly_valid(batch, CHECKED_STAGE_IDS, NOW) is None
    with pytest.raises(BatchInvalid) as refused:
        validate_batch(batch, CHECKED_STAGE_IDS, NOW + timedelta(minutes=1))
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
    """Min and max pass over a NaN that is not first; a zero makes the lowest
    value say nothing of the next lowest."""
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


def test_columns_and_rows_name_the_same_fields_in_the_same_order() -> None:
    assert SampleColumns._fields == SampleRow._fields
    row = SampleRow(1, NOW, 1.0, 2.0, None, 3.0, 4, 0, 0, None, "")
    assert SampleColumns.of_rows([row]).rows() == [row]
    assert SampleColumns.of_rows([]).sample_count == 0
