"""Storing a checked batch: its samples and the work they owe, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from django.db import connection, transaction

from toc.metrics.ingest.checks import SampleColumns, SampleRow
from toc.metrics.models import PendingMinute, Sample, SystemLedger
from toc.metrics.rollups import floor_minute
from toc.metrics.tasks import enqueue_processing
from toc.systems.models import System

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
        # The columns between ts and failure_mode hold numbers.
        *map(_numbers, cast("list[list[float | None]]", measures)),
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
