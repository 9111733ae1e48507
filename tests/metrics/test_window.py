"""The ledger window summed in PostgreSQL gives the rows ledger_rows computes
from the same samples in Python (the SQLite path)."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import StageFactory, SystemFactory
from toc.analysis import StageSample, ledger_rows
from toc.metrics.models import Sample
from toc.metrics.rollups import window_ledger_rows

END = datetime(2026, 11, 30, 23, 59, 55, 250_000, tzinfo=UTC)
WINDOW_S = 300

shares = st.none() | st.floats(min_value=0, max_value=1)
readings = st.fixed_dictionaries(
    {
        # Around both ends of the window, the microseconds included.
        "offset_us": st.integers(min_value=-1_000, max_value=WINDOW_S * 1_000_000 + 1),
        "throughput": st.floats(min_value=0, max_value=1e4),
        "capacity": st.floats(min_value=0, max_value=1e4),
        "utilization": shares,
        "latency_p95_ms": st.floats(min_value=0, max_value=5e3),
        "queue_depth": st.integers(min_value=0, max_value=10**6),
        "errors": st.integers(min_value=0, max_value=1000),
        "dropped": st.integers(min_value=0, max_value=1000),
        "blocked": shares,
        "failure_mode": st.sampled_from(["", "", "timeout", "oom"]),
    }
)
# Three stages, one of which may stay silent.
batches = st.tuples(*[st.lists(readings, max_size=12) for _ in range(3)])


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        if math.isinf(expected) or math.isnan(expected):
            return actual == expected or (math.isnan(actual) and math.isnan(expected))
        return actual == pytest.approx(expected, rel=1e-6, abs=1e-6)
    return actual == expected


def test_the_window_in_sql_gives_the_rows_of_ledger_rows(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "The window is summed in SQL on PostgreSQL only; on SQLite, processing "
            "runs ledger_rows itself."
        )
    system = SystemFactory(slos=False)
    stages = [StageFactory(system=system) for _ in range(3)]
    names = [stage.name for stage in stages]

    @settings(max_examples=60, deadline=None)
    @given(batches)
    def check(batch) -> None:
        samples = []
        for stage, stage_readings in zip(stages, batch, strict=True):
            seen = set()
            for reading in stage_readings:
                ts = END - timedelta(microseconds=reading["offset_us"])
                if ts in seen:
                    continue  # one sample per stage and time
                seen.add(ts)
                values = {k: v for k, v in reading.items() if k != "offset_us"}
                samples.append(StageSample(stage.name, ts, **values))
        by_name = {stage.name: stage for stage in stages}
        Sample.objects.filter(stage__in=stages).delete()
        Sample.objects.bulk_create(
            Sample(**dataclasses.asdict(sample) | {"stage": by_name[sample.stage]})
            for sample in samples
        )
        actual = window_ledger_rows(stages, END, WINDOW_S)
        expected = ledger_rows(samples, names, END, WINDOW_S)
        assert [row.stage for row in actual] == names
        for got, want in zip(actual, expected, strict=True):
            for field in dataclasses.fields(want):
                a, e = getattr(got, field.name), getattr(want, field.name)
                assert _same(a, e), (got.stage, field.name, a, e)

    check()
