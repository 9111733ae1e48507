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
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

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


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a few lines of aliases can stand for
    billions of nodes, and OpenSLO documents have no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


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


def parse(body: str | bytes) -> list[SloSpec]:
    """The SLOs of a YAML body of OpenSLO v1 documents, in their order."""
    try:
        loaded = list(yaml.load_all(body, Loader=_NoAliases))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise OpenSloError(0, None, "", f"is not YAML: {error.problem}{at}") from None
    except yaml.YAMLError as error:
        raise OpenSloError(0, None, "", f"is not YAML: {error}") from None
    except RecursionError:
        raise OpenSloError(0, None, "", "is nested too deeply") from None
    except ValueError as error:  # a date past its month, an integer of 5,000 digits
        raise OpenSloError(
            0, None, "", f"holds a value YAML cannot read: {error}"
        ) from None
    documents = [(i, d) for i, d in enumerate(loaded, start=1) if d is not None]
    slis: dict[str, tuple[_Document, Fields]] = {}
    slos: list[tuple[_Document, Fields]] = []
    for index, raw in documents:
        doc = _Document(index)
        document = doc.mapping(raw, "", {"apiVersion", "kind", "metadata", "spec"})
        if document.get("apiVersion") != API_VERSION:
            doc.fail("apiVersion", f"must be {API_VERSION}")
        metadata = doc.mapping(document.get("metadata"), "metadata", METADATA_KEYS)
        doc.name = _name(doc, metadata.get("name"), "metadata.name")
        _metadata(doc, metadata, "metadata")
        kind = document.get("kind")
        spec = doc.mapping(document.get("spec"), "spec")
        if kind == "SLO":
            slos.append((doc, document))
        elif kind == "SLI":
            _sli_metric(doc, spec, "spec")
            if doc.name in slis:
                doc.fail("metadata.name", "names a second SLI of the same name")
            slis[doc.name] = (doc, spec)
        elif kind not in SKIPPED_KINDS:
            doc.fail("kind", "must be SLO, SLI, DataSource, Service or an alert kind")
    if not slos:
        raise OpenSloError(0, None, "", "holds no kind: SLO document")
    names: dict[str, int] = {}
    specs = []
    for doc, document in slos:
        assert doc.name is not None
        if doc.name in names:
            doc.fail(
                "metadata.name", f"is already the name of document {names[doc.name]}"
            )
        names[doc.name] = doc.index
        specs.append(_slo(doc, document, slis))
    return specs


def _name(doc: _Document, value: Any, path: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        doc.fail(
            path,
            "must be up to 63 lowercase letters, digits and dashes, starting "
            "and ending with a letter or digit",
        )
    return value


def _metadata(doc: _Document, metadata: Fields, path: str) -> dict[str, str]:
    """Checks metadata's optional fields and returns its annotations."""
    if "displayName" in metadata:
        doc.text(metadata["displayName"], f"{path}.displayName")
    if "labels" in metadata:
        labels = doc.mapping(metadata["labels"], f"{path}.labels")
        for key, value in labels.items():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                doc.fail(f"{path}.labels.{key}", "must be text or a list of text")
    annotations = doc.mapping(metadata.get("annotations", {}), f"{path}.annotations")
    for key, value in annotations.items():
        if not isinstance(value, str):
            doc.fail(f"{path}.annotations.{key}", "must be text")
        if key.startswith(ANNOTATION_PREFIX) and key not in ANNOTATIONS:
            doc.fail(
                f"{path}.annotations.{key}",
                f"is not one of toc's annotations ({', '.join(ANNOTATIONS)})",
            )
    return annotations


def _slo(
    doc: _Document, document: Fields, slis: dict[str, tuple[_Document, Fields]]
) -> SloSpec:
    metadata, spec = (
        document["metadata"],
        doc.mapping(document["spec"], "spec", SLO_KEYS),
    )
    annotations = _metadata(doc, metadata, "metadata")
    if "description" in spec:
        doc.text(spec["description"], "spec.description", DESCRIPTION_LIMIT)
    doc.text(spec.get("service"), "spec.service")
    if "alertPolicies" in spec and not isinstance(spec["alertPolicies"], list | None):
        doc.fail("spec.alertPolicies", "must be a list")
    metric, where, metric_path = _indicator(doc, spec, slis)
    budgeting = spec.get("budgetingMethod")
    if budgeting not in BUDGETING_METHODS:
        doc.fail(
            "spec.budgetingMethod", f"must be one of {', '.join(BUDGETING_METHODS)}"
        )
    window_days, calendar = _time_window(doc, spec.get("timeWindow"))
    objective = _objective(doc, spec.get("objectives"), budgeting)
    comparator = objective.pop("comparator", None) or _comparator(doc, annotations)
    binding = _binding(where, metric, metric_path)
    if "thresholdMetric" in metric and (
        objective["threshold"] is None or comparator is None
    ):
        doc.fail("spec.objectives[0]", "needs op and value for a thresholdMetric")
    return SloSpec(
        openslo_name=doc.name or "",
        name=metadata.get("displayName", doc.name),
        dimension=annotations.get(DIMENSION, DEFAULT_DIMENSION),
        comparator=comparator or DEFAULT_COMPARATOR,
        target=_annotated_number(doc, annotations, TARGET),
        unit=annotations.get(UNIT, ""),
        measured_from=annotations.get(MEASURED_FROM, DEFAULT_MEASURED_FROM),
        budgeting=budgeting,
        window_days=window_days,
        calendar=calendar,
        document=doc.index,
        unstated=_unstated(annotations, comparator, binding, calendar),
        **objective,
        **binding,
    )


def _unstated(
    annotations: dict[str, str], comparator: str | None, binding: Fields, calendar: str
) -> frozenset[str]:
    unstated = {f for key, f in ANNOTATIONS.items() if key not in annotations}
    if comparator is not None:
        unstated.discard("comparator")
    if binding["indicator"] != "unbound":
        unstated.add("source")
    if calendar:
        unstated.add("window_days")
    return frozenset(unstated)


def _comparator(doc: _Document, annotations: dict[str, str]) -> str | None:
    comparator = annotations.get(COMPARATOR)
    if comparator is not None and comparator != "==":
        doc.fail(f"metadata.annotations.{COMPARATOR}", 'must be "==" (else use op)')
    return comparator


def _annotated_number(
    doc: _Document, annotations: dict[str, str], key: str
) -> float | None:
    if key not in annotations:
        return None
    try:
        number = float(annotations[key])
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        doc.fail(f"metadata.annotations.{key}", "must be a number written as text")
    return number


def _indicator(
    doc: _Document, spec: Fields, slis: dict[str, tuple[_Document, Fields]]
) -> tuple[Fields, _Document, str]:
    """The SLI's metric ({"thresholdMetric": …} or {"ratioMetric": …}), with
    the document and path that hold it."""
    if ("indicator" in spec) == ("indicatorRef" in spec):
        doc.fail("spec", "needs exactly one of indicator and indicatorRef")
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if not isinstance(ref, str) or ref not in slis:
            doc.fail(
                "spec.indicatorRef",
                f"names no kind: SLI document in the body ({ref!r})",
            )
        sli_doc, sli_spec = slis[ref]
        return _sli_metric(sli_doc, sli_spec, "spec"), sli_doc, "spec"
    indicator = doc.mapping(spec["indicator"], "spec.indicator", {"metadata", "spec"})
    metadata = doc.mapping(
        indicator.get("metadata"), "spec.indicator.metadata", METADATA_KEYS
    )
    _name(doc, metadata.get("name"), "spec.indicator.metadata.name")
    _metadata(doc, metadata, "spec.indicator.metadata")
    sli = doc.mapping(indicator.get("spec"), "spec.indicator.spec")
    return _sli_metric(doc, sli, "spec.indicator.spec"), doc, "spec.indicator.spec"


def _sli_metric(doc: _Document, spec: Fields, path: str) -> Fields:
    doc.mapping(spec, path, SLI_KEYS)
    if "description" in spec:
        doc.text(spec["description"], f"{path}.description", DESCRIPTION_LIMIT)
    if ("thresholdMetric" in spec) == ("ratioMetric" in spec):
        doc.fail(path, "needs exactly one of thresholdMetric and ratioMetric")
    if "thresholdMetric" in spec:
        _metric(doc, spec["thresholdMetric"], f"{path}.thresholdMetric")
        return {"thresholdMetric": spec["thresholdMetric"]}
    ratio = doc.mapping(spec["ratioMetric"], f"{path}.ratioMetric", RATIO_KEYS)
    path = f"{path}.ratioMetric"
    if "counter" in ratio and not isinstance(ratio["counter"], bool):
        doc.fail(f"{path}.counter", "must be true or false")
    if "raw" in ratio:
        if {"good", "bad", "total"} & ratio.keys():
            doc.fail(path, "takes raw or good/bad with total, not both")
        if ratio.get("rawType") not in ("success", "failure"):
            doc.fail(f"{path}.rawType", "must be success or failure with raw")
        _metric(doc, ratio["raw"], f"{path}.raw")
    else:
        if ("good" in ratio) == ("bad" in ratio):
            doc.fail(path, "needs exactly one of good and bad")
        if "total" not in ratio:
            doc.fail(path, "needs total with good or bad")
        if "rawType" in ratio:
            doc.fail(f"{path}.rawType", "goes only with raw")
        for part in ("good", "bad", "total"):
            if part in ratio:
                _metric(doc, ratio[part], f"{path}.{part}")
    return {"ratioMetric": ratio}


def _metric(doc: _Document, value: Any, path: str) -> Fields:
    metric = doc.mapping(value, path, {"metricSource"})
    source = doc.mapping(
        metric.get("metricSource"), f"{path}.metricSource", SOURCE_KEYS
    )
    path = f"{path}.metricSource"
    if "type" not in source and "metricSourceRef" not in source:
        doc.fail(path, "needs type or metricSourceRef")
    for key in ("type", "metricSourceRef"):
        if key in source:
            doc.text(source[key], f"{path}.{key}")
    doc.mapping(source.get("spec"), f"{path}.spec")
    _storable(doc, source["spec"], f"{path}.spec")
    if source.get("type") == TOC_SOURCE:
        spec = doc.mapping(source["spec"], f"{path}.spec", {"stage", "field"})
        for key in ("stage", "field"):
            doc.text(spec.get(key), f"{path}.spec.{key}")
    return source


def _storable(doc: _Document, value: Any, path: str) -> None:
    """What is kept of an unbound source must store as JSON as it was read."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                doc.fail(path, f"has a key that is not text ({key!r})")
            _storable(doc, item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(doc, item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        doc.fail(path, "must be a finite number")
    elif isinstance(value, date | datetime):
        doc.fail(path, "is a date: quote it to keep it as text")
    elif value is not None and not isinstance(value, str | int | float | bool):
        doc.fail(path, "must be text, a number, true/false, a list or a mapping")


def _time_window(doc: _Document, value: Any) -> tuple[int, str]:
    """(window_days, calendar) of spec.timeWindow; 28 rolling days if absent."""
    if value is None:
        return DEFAULT_WINDOW_DAYS, ""
    if not isinstance(value, list) or len(value) != 1:
        doc.fail("spec.timeWindow", "must be a list of exactly one window")
    path = "spec.timeWindow[0]"
    window = doc.mapping(value[0], path, {"duration", "isRolling", "calendar"})
    duration = window.get("duration")
    if not isinstance(duration, str) or not (found := DURATION.fullmatch(duration)):
        doc.fail(f"{path}.duration", "must be a duration such as 28d, 4w or 1M")
    rolling = window.get("isRolling", "calendar" not in window)
    if not isinstance(rolling, bool):
        doc.fail(f"{path}.isRolling", "must be true or false")
    if "calendar" not in window:
        if not rolling:
            doc.fail(path, "needs isRolling: true or a calendar")
        days = int(found[1]) * {"d": 1, "w": 7}.get(found[2], 0)
        if not 1 <= days <= MAX_WINDOW_DAYS:
            doc.fail(
                f"{path}.duration",
                f"must be whole days or weeks up to {MAX_WINDOW_DAYS} days "
                "(28d, 4w) for toc's rolling windows",
            )
        return days, ""
    if rolling:
        doc.fail(f"{path}.isRolling", "must be false with a calendar")
    calendar = doc.mapping(
        window["calendar"], f"{path}.calendar", {"startTime", "timeZone"}
    )
    start = calendar.get("startTime")
    if not isinstance(start, datetime) and not (
        isinstance(start, str) and START_TIME.fullmatch(start)
    ):
        doc.fail(
            f"{path}.calendar.startTime", "must be a time such as 2024-01-01 00:00:00"
        )
    try:
        ZoneInfo(calendar.get("timeZone"))  # type: ignore[arg-type]
    except (ZoneInfoNotFoundError, TypeError, ValueError):
        doc.fail(
            f"{path}.calendar.timeZone", "must name an IANA time zone (Europe/Paris)"
        )
    if duration not in CALENDARS:
        doc.fail(
            f"{path}.duration",
            "must be 1w or 1M for toc's calendar windows (a week or a month)",
        )
    return DEFAULT_WINDOW_DAYS, CALENDARS[duration]


def _objective(doc: _Document, value: Any, budgeting: str) -> dict[str, Any]:
    """The one objective's fields: objective, threshold, timeslice_target and,
    if it has an op, comparator."""
    if not isinstance(value, list) or not value:
        doc.fail("spec.objectives", "must be a list of at least one objective")
    if len(value) > 1:
        doc.fail(
            "spec.objectives",
            "holds more than one objective; toc keeps one per SLO: "
            "write each as its own SLO document",
        )
    path = "spec.objectives[0]"
    objective = doc.mapping(value[0], path, OBJECTIVE_KEYS)
    composite = {"indicator", "indicatorRef", "compositeWeight"} & objective.keys()
    if composite:
        doc.fail(
            f"{path}.{sorted(composite)[0]}",
            "belongs to composite SLOs, which toc does not import",
        )
    if "displayName" in objective:
        doc.text(objective["displayName"], f"{path}.displayName")
    found: dict[str, Any] = {}
    if "op" in objective:
        if objective["op"] not in OPS:
            doc.fail(f"{path}.op", "must be one of lte, lt, gte, gt")
        found["comparator"] = OPS[objective["op"]]
    found["threshold"] = (
        doc.number(objective["value"], f"{path}.value")
        if "value" in objective
        else None
    )
    if ("target" in objective) == ("targetPercent" in objective):
        doc.fail(path, "needs exactly one of target and targetPercent")
    if "target" in objective:
        found["objective"] = doc.fraction(objective["target"], f"{path}.target")
    else:
        percent = doc.fraction(
            objective["targetPercent"], f"{path}.targetPercent", upto=100
        )
        # In decimal, so that 99.9 is 0.999 rather than 0.9990000000000001.
        found["objective"] = float(Decimal(repr(percent)) / 100)
    found["timeslice_target"] = None
    if "timeSliceTarget" in objective:
        ratio = doc.number(objective["timeSliceTarget"], f"{path}.timeSliceTarget")
        if not 0 < ratio <= 1:
            doc.fail(f"{path}.timeSliceTarget", "must be above 0 and at most 1")
        found["timeslice_target"] = ratio
    elif budgeting == "Timeslices":
        doc.fail(path, "needs timeSliceTarget with budgetingMethod Timeslices")
    if "timeSliceWindow" in objective:
        if objective["timeSliceWindow"] not in ("1m", 1):
            doc.fail(
                f"{path}.timeSliceWindow",
                "must be 1m: toc's time slices are one minute",
            )
    elif budgeting != "Occurrences":
        doc.fail(path, f"needs timeSliceWindow with budgetingMethod {budgeting}")
    return found


def _binding(doc: _Document, metric: Fields, path: str) -> dict[str, Any]:
    """The indicator fields for an SLI's metric: bound when toc reads its
    source, else unbound with the metric kept in `source`."""
    unbound = {"indicator": "unbound", "source": metric}
    if "thresholdMetric" in metric:
        source = metric["thresholdMetric"]["metricSource"]
        if _typed(source, TOC_SOURCE):
            spec = source["spec"]
            return {
                "indicator": "threshold",
                "stage": spec["stage"],
                "field": spec["field"],
            }
        return unbound
    ratio = metric["ratioMetric"]
    path = f"{path}.ratioMetric"
    if {"good", "total"} <= ratio.keys() and all(
        _typed(ratio[p]["metricSource"], TOC_SOURCE) for p in ("good", "total")
    ):
        doc.fail(
            f"{path}.good",
            "toc's ratios count the bad events: give bad (dropped, errors) with total",
        )
    if {"bad", "total"} <= ratio.keys() and all(
        _typed(ratio[p]["metricSource"], TOC_SOURCE) for p in ("bad", "total")
    ):
        bad, total = (ratio[p]["metricSource"]["spec"] for p in ("bad", "total"))
        if bad["stage"] != total["stage"]:
            doc.fail(
                f"{path}.total.metricSource.spec.stage",
                "must be the bad metric's stage",
            )
        return {
            "indicator": "ratio",
            "stage": bad["stage"],
            "field": bad["field"],
            "total_field": total["field"],
        }
    if {"good", "total"} <= ratio.keys() and all(
        _prometheus_query(ratio[p]["metricSource"]) for p in ("good", "total")
    ):
        return {
            "indicator": "promql",
            "promql_good": _prometheus_query(ratio["good"]["metricSource"]),
            "promql_total": _prometheus_query(ratio["total"]["metricSource"]),
        }
    return unbound


def _typed(source: Fields, kind: str) -> bool:
    """A source toc reads as it stands: the type, a spec, nothing else to keep."""
    return source.keys() == {"type", "spec"} and source["type"] == kind


def _prometheus_query(source: Fields) -> str | None:
    if source.keys() == {"type", "spec"} and source["type"] in PROMETHEUS_SOURCES:
        spec = source["spec"]
        if (
            spec.keys() == {"query"}
            and isinstance(spec["query"], str)
            and spec["query"].strip()
        ):
            return spec["query"]
    return None


# Writing


def missing(spec: SloSpec) -> str | None:
    """Why the SLO cannot be written as OpenSLO (it is not an OpenSLO SLO
    yet), or None."""
    if spec.objective is None:
        return "no objective"
    needs = {
        "threshold": ("stage", "field", "threshold"),
        "ratio": ("stage", "field", "total_field"),
        "promql": ("promql_good", "promql_total"),
        "unbound": ("source",),
    }.get(spec.indicator)
    if needs is None:
        return "no indicator"
    if spec.indicator == "unbound" and spec.source is not None:
        metrics = ({"thresholdMetric"}, {"ratioMetric"})
        if not isinstance(spec.source, dict) or set(spec.source) not in metrics:
            return "no OpenSLO metric in its source"
        if "thresholdMetric" in spec.source:
            needs += ("threshold",)
    if empty := [f for f in needs if getattr(spec, f) in (None, "", {})]:
        return f"no {' or '.join(empty)}"
    return None


def emit(specs: list[SloSpec], service: str, header: str = "") -> str:
    """The SLOs as OpenSLO v1 documents; each must have nothing `missing`.
    `header` is written first as YAML comments."""
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    documents = [_document(spec, service) for spec in specs]
    return comments + yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        explicit_start=True,
    )


class _Dumper(yaml.SafeDumper):
    """Text with line breaks or other unprintable characters double-quoted,
    where YAML keeps them as escapes: plain and single-quoted scalars fold
    some of them (a NEL, \\x85, reads back as a space)."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        style = None if data.isprintable() else '"'
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _Dumper.represent_str)


def _document(spec: SloSpec, service: str) -> dict[str, Any]:
    annotations = {DIMENSION: spec.dimension}
    if spec.unit:
        annotations[UNIT] = spec.unit
    if spec.target is not None:
        annotations[TARGET] = repr(spec.target)
    if spec.measured_from != DEFAULT_MEASURED_FROM:
        annotations[MEASURED_FROM] = spec.measured_from
    objective: dict[str, Any] = {}
    if spec.comparator in COMPARATORS:
        objective["op"] = COMPARATORS[spec.comparator]
    else:
        annotations[COMPARATOR] = spec.comparator
    if spec.threshold is not None:
        objective["value"] = spec.threshold
    objective["target"] = spec.objective
    if spec.budgeting == "Timeslices":
        objective["timeSliceTarget"] = spec.timeslice_target or DEFAULT_TIMESLICE_TARGET
    elif spec.timeslice_target is not None:
        objective["timeSliceTarget"] = spec.timeslice_target
    if spec.budgeting != "Occurrences":
        objective["timeSliceWindow"] = "1m"
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": spec.openslo_name,
            "displayName": spec.name,
            "annotations": annotations,
        },
        "spec": {
            "service": service,
            "indicator": {
                "metadata": {"name": spec.openslo_name},
                "spec": _metric_of(spec),
            },
            "timeWindow": [_window_of(spec)],
            "budgetingMethod": spec.budgeting,
            "objectives": [objective],
        },
    }


def _metric_of(spec: SloSpec) -> dict[str, Any]:
    def toc(field: str) -> dict[str, Any]:
        return {
            "metricSource": {
                "type": TOC_SOURCE,
                "spec": {"stage": spec.stage, "field": field},
            }
        }

    def prometheus(query: str) -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}

    if spec.indicator == "threshold":
        return {"thresholdMetric": toc(spec.field)}
    if spec.indicator == "ratio":
        return {"ratioMetric": {"bad": toc(spec.field), "total": toc(spec.total_field)}}
    if spec.indicator == "promql":
        return {
            "ratioMetric": {
                "good": prometheus(spec.promql_good),
                "total": prometheus(spec.promql_total),
            }
        }
    assert spec.source is not None
    return spec.source


def _window_of(spec: SloSpec) -> dict[str, Any]:
    if not spec.calendar:
        return {"duration": f"{spec.window_days}d", "isRolling": True}
    duration = {calendar: d for d, calendar in CALENDARS.items()}[spec.calendar]
    return {
        "duration": duration,
        "calendar": {"startTime": CALENDAR_START, "timeZone": "UTC"},
        "isRolling": False,
    }
