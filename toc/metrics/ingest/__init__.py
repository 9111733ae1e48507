"""Taking a batch of stage samples: parsing the body, checking every sample
against one rule per field, and storing the batch whole or not at all."""

from toc.metrics.ingest.checks import (
    MAX_BIGINT,
    MAX_EVENTS,
    MAX_RATE,
    MAX_TEXT,
    MIN_POSITIVE,
    IngestStages,
    SampleColumns,
    SampleRow,
    ingest_stages,
    validate_batch,
)
from toc.metrics.ingest.parsing import (
    MAX_BODY_BYTES,
    MAX_SAMPLES,
    BatchInvalid,
    FieldError,
    parse_batch,
)
from toc.metrics.ingest.storage import samples_store

__all__ = [
    "MAX_BIGINT",
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "MAX_RATE",
    "MAX_SAMPLES",
    "MAX_TEXT",
    "MIN_POSITIVE",
    "BatchInvalid",
    "FieldError",
    "IngestStages",
    "SampleColumns",
    "SampleRow",
    "ingest_stages",
    "parse_batch",
    "samples_store",
    "validate_batch",
]
