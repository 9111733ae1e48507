"""OpenSLO's names as toc reads and writes them, the SLO they become
(`SloSpec`), and the error a document's problem raises (`OpenSloError`,
raised through `_Document`, which knows where the document sits).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, NoReturn

API_VERSION = "openslo/v1"
# Kinds a body may hold: SLOs are imported, SLIs referenced, the rest skipped.
SKIPPED_KINDS = (
    "DataSource",
    "Service",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
)
BUDGETING_METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
# OpenSLO's op against toc's comparator; toc's "==" has no op and travels as
# the annotation toc/comparator.
OPS = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
COMPARATORS = {comparator: op for op, comparator in OPS.items()}
DEFAULT_COMPARATOR = ">="
DEFAULT_DIMENSION = "custom"
DEFAULT_MEASURED_FROM = "typed"
DEFAULT_WINDOW_DAYS = 28
# A slice is good when its good share reaches this, if the SLO names none
# (the engine's default, written out because OpenSLO requires it).
DEFAULT_TIMESLICE_TARGET = 0.99
MAX_WINDOW_DAYS = 366
CALENDARS = {"1w": "week", "1M": "month"}
# Written as a calendar window's start: a Monday and the first of a month.
CALENDAR_START = "2024-01-01 00:00:00"
TOC_SOURCE = "toc"
PROMETHEUS_SOURCES = ("prometheus", "Prometheus")
DESCRIPTION_LIMIT = 1050

ANNOTATION_PREFIX = "toc/"
DIMENSION = "toc/dimension"
UNIT = "toc/unit"
TARGET = "toc/target"
MEASURED_FROM = "toc/measured-from"
COMPARATOR = "toc/comparator"
ANNOTATIONS = {
    DIMENSION: "dimension",
    UNIT: "unit",
    TARGET: "target",
    MEASURED_FROM: "measured_from",
    COMPARATOR: "comparator",
}

# A parsed YAML mapping.
Fields = dict[str, Any]

NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DURATION = re.compile(r"([1-9][0-9]*)([mhdwMQY])")
START_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

SLO_KEYS = {
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
}
OBJECTIVE_KEYS = {
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
    "indicator",
    "indicatorRef",
    "compositeWeight",
}
METADATA_KEYS = {"name", "displayName", "labels", "annotations"}
SLI_KEYS = {"description", "thresholdMetric", "ratioMetric"}
RATIO_KEYS = {"counter", "good", "bad", "total", "rawType", "raw"}
SOURCE_KEYS = {"metricSourceRef", "type", "spec"}


@dataclass(frozen=True)
class SloSpec:
    """One SLO as toc stores it (systems.Slo's field names)."""

    openslo_name: str
    name: str
    dimension: str = DEFAULT_DIMENSION
    comparator: str = DEFAULT_COMPARATOR
    target: float | None = None
    unit: str = ""
    measured_from: str = DEFAULT_MEASURED_FROM
    indicator: str = "unbound"
    stage: str = ""
    field: str = ""
    total_field: str = ""
    threshold: float | None = None
    promql_good: str = ""
    promql_total: str = ""
    objective: float | None = None
    budgeting: str = "Occurrences"
    timeslice_target: float | None = None
    window_days: int = DEFAULT_WINDOW_DAYS
    calendar: str = ""
    source: dict[str, Any] | None = None
    # Where it was read (its place in the body, from 1), for later errors.
    document: int = dataclasses.field(default=0, compare=False, repr=False)
    # The fields the document did not state, which hold defaults here: an
    # update leaves them as they are (a Datadog document does not reset an
    # SLO's dimension; a bound one keeps the source it was bound from).
    unstated: frozenset[str] = dataclasses.field(
        default=frozenset(), compare=False, repr=False
    )


# The fields of SloSpec that are systems.Slo's.
SLO_FIELDS = tuple(f.name for f in dataclasses.fields(SloSpec) if f.compare)


class OpenSloError(ValueError):
    """A problem in one document: its place in the body (from 1; 0 for the
    body as a whole), its metadata.name if it has one, and the path of the
    problem within it."""

    def __init__(self, document: int, name: str | None, path: str, problem: str):
        self.document, self.name, self.path = document, name, path
        if not document:
            super().__init__(f"the body {problem}")
            return
        where = f"document {document}" + (f" ({name})" if name else "")
        super().__init__(
            f"{where}: {path} {problem}" if path else f"{where}: {problem}"
        )


class _Document:
    """Where a document sits in the body, for its errors."""

    def __init__(self, index: int, name: str | None = None) -> None:
        self.index, self.name = index, name

    def fail(self, path: str, problem: str) -> NoReturn:
        raise OpenSloError(self.index, self.name, path, problem)

    def mapping(self, value: Any, path: str, keys: set[str] | None = None) -> Fields:
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"has a key that is not text ({key!r})")
            if keys is not None and key not in keys:
                self.fail(_join(path, key), "is not an OpenSLO v1 field here")
        return value

    def text(self, value: Any, path: str, limit: int | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be non-empty text")
        if limit is not None and len(value) > limit:
            self.fail(path, f"must be at most {limit} characters")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, "must be a number")
        try:
            number = float(value)
        except OverflowError:  # an integer past any float
            number = math.inf
        if not math.isfinite(number):
            self.fail(path, "must be a finite number")
        return number

    def fraction(self, value: Any, path: str, *, upto: float = 1) -> float:
        number = self.number(value, path)
        if not 0 < number < upto:
            self.fail(path, f"must be between 0 and {upto:g}")
        return number


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
