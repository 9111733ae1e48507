"""Reading a YAML body of OpenSLO v1 documents into `SloSpec`s: the body, each
document's kind and metadata, and an SLO's fields (time window, objective,
annotations). An SLI's metric and what toc binds from it: indicator.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from toc.lib.openslo.indicator import _binding, _sli_metric
from toc.lib.openslo.spec import (
    ANNOTATION_PREFIX,
    ANNOTATIONS,
    API_VERSION,
    BUDGETING_METHODS,
    CALENDARS,
    COMPARATOR,
    DEFAULT_COMPARATOR,
    DEFAULT_DIMENSION,
    DEFAULT_MEASURED_FROM,
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
    SKIPPED_KINDS,
    SLO_KEYS,
    START_TIME,
    TARGET,
    UNIT,
    Fields,
    OpenSloError,
    SloSpec,
    _Document,
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
