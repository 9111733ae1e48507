"""Property tests of the ingest endpoint: whatever arrives, the answer is JSON and
never a 5xx; and what was accepted is what the database holds.

Each example runs in a savepoint that is rolled back, with processing run as it
would after a commit, so a bad sample that crashed the rollups would fail here.
"""

from __future__ import annotations

import json
import math
import os
import sys
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
    MAX_TEXT,
    MIN_POSITIVE,
    BatchInvalid,
    validate_batch,
)
from toc.metrics.models import Sample
from toc.metrics.rollups import SAMPLE_FIELDS

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


def _rows_or_errors(samples: list, now: datetime) -> list | list[tuple]:
    """The rows the batch stores, or its errors as (index, field, message)."""
    try:
        return validate_batch(samples, CHECKED_STAGE_IDS, now, CAPACITIES).rows()
    except BatchInvalid as invalid:
        return [(error.index, error.field, error.message) for error in invalid.errors]


@FUZZ
@given(
    samples=some_for_people(
        st.one_of(uniform_batches(), st.lists(nasty_samples(), min_size=1, max_size=5))
    )
)
def test_a_batch_is_judged_as_its_samples_alone(samples) -> None:
    """Checked a column at a time, a batch stores each sample as checking it
    alone would, or refuses with the errors each bad sample alone gets."""
    now = datetime.now(UTC)
    rows, errors = [], []
    for index, sample in enumerate(samples):
        try:
            rows += validate_batch([sample], CHECKED_STAGE_IDS, now, CAPACITIES).rows()
        except BatchInvalid as invalid:
            errors += [(index, e.field, e.message) for e in invalid.errors]
    assert _rows_or_errors(samples, now) == (errors or rows)


# The limits as the API documents them (README, schema), written apart from the
# checks: (lowest above 0, highest, whole numbers only).
DOCUMENTED = {
    "throughput": (MIN_POSITIVE, MAX_RATE, False),
    "capacity": (MIN_POSITIVE, MAX_RATE, False),
    "utilization": (MIN_POSITIVE, 1.0, False),
    "blocked": (MIN_POSITIVE, 1.0, False),
    "latency_p95_ms": (0.0, sys.float_info.max, False),
    "queue_depth": (0, MAX_BIGINT, True),
    "errors": (0, MAX_EVENTS, True),
    "dropped": (0, MAX_EVENTS, True),
}


def _documented(field: str, value: object) -> object:
    """What the documentation says is stored for the value, or None: refused."""
    lowest, highest, whole = DOCUMENTED[field]
    if whole:
        return value if type(value) is int and 0 <= value <= highest else None
    if type(value) not in (int, float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if math.isfinite(number) and (number == 0 or lowest <= number <= highest):
        return number
    return None


def _stored(field: str, value: object) -> object:
    """What the checks store for `field` sent as `value`, or None: refused."""
    plain = {
        "stage": "ingest",
        "ts": NOW.isoformat(),
        "throughput": 1.0,
        "capacity": 1.0,
        "latency_p95_ms": 1.0,
        "queue_depth": 0,
    }
    try:
        batch = validate_batch([{**plain, field: value}], {"ingest": 1}, NOW)
    except BatchInvalid as invalid:
        assert [(e.index, e.field) for e in invalid.errors] == [(0, field)]
        return None
    return getattr(batch, field)[0]


@FUZZ
@given(field=st.sampled_from(sorted(DOCUMENTED)), value=edge_numbers)
def test_a_number_is_stored_exactly_when_the_documentation_allows_it(
    field, value
) -> None:
    expected = _documented(field, value)
    stored = _stored(field, value)
    assert stored == expected and type(stored) is type(expected)


@FUZZ
@given(value=edge_texts)
def test_a_failure_mode_is_stored_exactly_when_it_is_storable_text(value) -> None:
    storable = len(value) <= MAX_TEXT and not any(
        char == "\x00" or "\ud800" <= char <= "\udfff" for char in value
    )
    assert _stored("failure_mode", value) == (value if storable else None)
