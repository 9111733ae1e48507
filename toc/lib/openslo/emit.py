"""Writing `SloSpec`s as OpenSLO v1 documents that parse reads back to the same
specs, and `missing`: why an SLO cannot be written yet.
"""

from __future__ import annotations

from typing import Any

import yaml

from toc.lib.openslo.spec import (
    API_VERSION,
    CALENDAR_START,
    CALENDARS,
    COMPARATOR,
    COMPARATORS,
    DEFAULT_MEASURED_FROM,
    DEFAULT_TIMESLICE_TARGET,
    DIMENSION,
    MEASURED_FROM,
    TARGET,
    TOC_SOURCE,
    UNIT,
    SloSpec,
)


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
