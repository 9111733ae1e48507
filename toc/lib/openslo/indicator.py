"""An SLI's metric, checked (thresholdMetric or ratioMetric, each source
storable as read), and the indicator toc binds from it: a threshold or ratio
on a toc stage, PromQL good / total, or unbound with the metric kept.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from toc.lib.openslo.spec import (
    DESCRIPTION_LIMIT,
    PROMETHEUS_SOURCES,
    RATIO_KEYS,
    SLI_KEYS,
    SOURCE_KEYS,
    TOC_SOURCE,
    Fields,
    _Document,
    _join,
)


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
