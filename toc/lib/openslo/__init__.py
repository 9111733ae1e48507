"""OpenSLO v1 documents read into toc's SLO fields, and written back.

Pure (no Django): `parse` takes a YAML body of one or more documents and
returns a `SloSpec` per `kind: SLO` document, named with systems.Slo's field
names; `emit` writes specs as documents that `parse` reads back to the same
specs. A document that is not valid OpenSLO v1, or asks for what toc cannot
keep, raises `OpenSloError` naming the document and the path of the problem.

How OpenSLO maps onto toc's SLO:

- metadata.name is `openslo_name`, metadata.displayName the SLO's `name`;
  toc's own fields (dimension, unit, the typed target, how the value is
  measured) travel as annotations under `toc/`.
- The indicator (inline, or `indicatorRef` to a `kind: SLI` document of the
  same body) binds when toc can read its metric source:
  * `type: toc`, `spec: {stage, field}` in a thresholdMetric: a threshold on
    that stage's field, compared with the objective's `op` and `value`;
  * in a ratioMetric, `bad` and `total` toc sources on one stage: a ratio
    whose good share is 1 - bad / total. toc's ratios count the bad events
    (dropped, errors), so a toc `good` metric is refused rather than guessed;
  * `type: Prometheus`, `spec: {query}` as a ratioMetric's `good` and
    `total`: PromQL good / total.
  Any other source (Datadog, a `raw` ratio, a metricSourceRef, Prometheus as
  a threshold or as bad / total) is kept as given in `source` and the SLO is
  unbound until someone binds it.
- One objective per SLO: its target (or targetPercent / 100) is `objective`.
  Composite SLOs (an indicator per objective) are refused.
- Time slices are one minute (`timeSliceWindow: 1m`); rolling windows are
  whole days or weeks (28d, 4w), calendar windows a week (1w) or a month
  (1M), aligned in UTC: startTime and timeZone are checked, not kept.
- description, service, labels, alertPolicies and an objective's
  displayName are checked and not kept; DataSource, Service and alerting
  documents in the body are checked and skipped.
- Written back, a Timeslices SLO without a slice target gets 0.99 (the
  engine's default, which OpenSLO requires written out), and `service` is
  the system's slug.

Its parts: spec (the names, SloSpec, OpenSloError), parse (reading and
checking a body), indicator (an SLI's metric and what toc binds from it),
emit (writing).
"""

from toc.lib.openslo.emit import emit, missing
from toc.lib.openslo.parse import parse
from toc.lib.openslo.spec import (
    ANNOTATION_PREFIX,
    ANNOTATIONS,
    API_VERSION,
    BUDGETING_METHODS,
    CALENDAR_START,
    CALENDARS,
    COMPARATOR,
    COMPARATORS,
    DEFAULT_COMPARATOR,
    DEFAULT_DIMENSION,
    DEFAULT_MEASURED_FROM,
    DEFAULT_TIMESLICE_TARGET,
    DEFAULT_WINDOW_DAYS,
    DESCRIPTION_LIMIT,
    DIMENSION,
    DURATION,
    MAX_WINDOW_DAYS,
    MEASURED_FROM,
    METADATA_KEYS,
    NAME,
    OBJECTIVE_KEYS,
    OPS,
    PROMETHEUS_SOURCES,
    RATIO_KEYS,
    SKIPPED_KINDS,
    SLI_KEYS,
    SLO_FIELDS,
    SLO_KEYS,
    SOURCE_KEYS,
    START_TIME,
    TARGET,
    TOC_SOURCE,
    UNIT,
    Fields,
    OpenSloError,
    SloSpec,
)

__all__ = [
    "ANNOTATIONS",
    "ANNOTATION_PREFIX",
    "API_VERSION",
    "BUDGETING_METHODS",
    "CALENDARS",
    "CALENDAR_START",
    "COMPARATOR",
    "COMPARATORS",
    "DEFAULT_COMPARATOR",
    "DEFAULT_DIMENSION",
    "DEFAULT_MEASURED_FROM",
    "DEFAULT_TIMESLICE_TARGET",
    "DEFAULT_WINDOW_DAYS",
    "DESCRIPTION_LIMIT",
    "DIMENSION",
    "DURATION",
    "MAX_WINDOW_DAYS",
    "MEASURED_FROM",
    "METADATA_KEYS",
    "NAME",
    "OBJECTIVE_KEYS",
    "OPS",
    "PROMETHEUS_SOURCES",
    "RATIO_KEYS",
    "SKIPPED_KINDS",
    "SLI_KEYS",
    "SLO_FIELDS",
    "SLO_KEYS",
    "SOURCE_KEYS",
    "START_TIME",
    "TARGET",
    "TOC_SOURCE",
    "UNIT",
    "Fields",
    "OpenSloError",
    "SloSpec",
    "emit",
    "missing",
    "parse",
]
