# The specification's examples are quoted with their long lines.
# ruff: noqa: E501
"""OpenSLO v1 read and written, on documents written from the specification
(github.com/OpenSLO/OpenSLO, README and examples/)."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from toc.lib import openslo
from toc.lib.openslo import OpenSloError, SloSpec

# The specification's inline-SLI example (README, "An example of an SLO where
# SLI is inlined"), with the timeWindow and budgetingMethod it requires.
DATADOG = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: foo-slo
  displayName: Foo SLO
spec:
  service: foo
  indicator:
    metadata:
      name: foo-error
      displayName: Foo Error
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: datadog-datasource
            type: Datadog
            spec:
              query: sum:trace.http.request.hits.by_http_status{http.status_code:200}.as_count()
        total:
          metricSource:
            metricSourceRef: datadog-datasource
            type: Datadog
            spec:
              query: sum:trace.http.request.hits.by_http_status{*}.as_count()
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Foo Total Errors
      target: 0.98
"""

# examples/budgeting-method/occurences-slo.yaml
SEARCH = """
# SLO that measures the time of searching for an item in an online shop.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-slo
  displayName: Searching time
spec:
  description: Regardless of the number of paraller searches it never should be more than 500ms.
  service: web-shop
  indicator:
    metadata:
      name: search-latency
      displayName: Latency of user searches
    spec:
      thresholdMetric:
        metricSource:
          type: Any # Any service with needed metrics.
          spec: # Fields necessary to query service for the data.
            query: Any # 'query' is just an example field.
  timeWindow:
    - duration: 2w # Two weeks is a good choice in most cases.
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Good experience
      op: lt
      value: 500
      target: 0.99
  alertPolicies:
"""

# examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml
LOW_TRAFFIC = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: service-availability
  displayName: SLO for this important service
spec:
  service: web-availability
  indicator:
    metadata:
      name: web-availability
      displayName: Time when our service was running.
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Any
            spec:
              query: Any
        total:
          metricSource:
            type: Any
            spec:
              query: Any
  timeWindow:
    - duration: 1w
      isRolling: false
      calendar:
        startTime: 2022-01-01 12:00:00
        timeZone: America/New_York
  budgetingMethod: Timeslices
  objectives:
    - displayName: Objective
      op: gt
      target: 0.9995
      timeSliceTarget: 0.95
      timeSliceWindow: 1m
"""

# The README's ratioMetric example as an SLI, referenced by an SLO; toc reads
# Prometheus good / total.
PROMETHEUS = """
apiVersion: openslo/v1
kind: SLI
metadata:
  name: requests-ok
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(localhost_server_requests{code=~"2xx|3xx",host="*",instance="127.0.0.1:9090"})
    total:
      metricSource:
        type: Prometheus
        spec:
          query: localhost_server_requests{code="total",host="*",instance="127.0.0.1:9090"}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: web
  indicatorRef: requests-ok
  budgetingMethod: RatioTimeslices
  objectives:
    - targetPercent: 99.5
      timeSliceWindow: 1m
"""

# toc's own source: a threshold on a stage's field, and a ratio of two.
TOC = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: decision-latency
  displayName: Decision within 5 minutes
  annotations:
    toc/dimension: time_to_decision
    toc/unit: min
    toc/target: "5.0"
spec:
  service: loans
  indicator:
    metadata:
      name: review-p95
    spec:
      thresholdMetric:
        metricSource:
          type: toc
          spec: {stage: review, field: latency_p95_ms}
  timeWindow:
    - duration: 4w
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: lte
      value: 300000
      target: 0.99
      timeSliceTarget: 0.9
      timeSliceWindow: 1m
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: no-drops
spec:
  service: loans
  indicator:
    metadata:
      name: scoring-drops
    spec:
      ratioMetric:
        bad:
          metricSource: {type: toc, spec: {stage: scoring, field: dropped}}
        total:
          metricSource: {type: toc, spec: {stage: scoring, field: throughput}}
  timeWindow:
    - duration: 1M
      calendar: {startTime: "2024-01-01 00:00:00", timeZone: UTC}
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
"""


def test_the_inline_sli_example_keeps_its_datadog_source_unbound():
    [slo] = openslo.parse(DATADOG)
    assert slo.openslo_name == "foo-slo"
    assert slo.name == "Foo SLO"
    assert slo.indicator == "unbound"
    assert slo.objective == 0.98
    assert slo.budgeting == "Occurrences"
    assert (slo.window_days, slo.calendar) == (28, "")
    good = slo.source["ratioMetric"]["good"]["metricSource"]
    assert good["type"] == "Datadog"
    assert good["metricSourceRef"] == "datadog-datasource"
    assert slo.source == yaml.safe_load(DATADOG)["spec"]["indicator"]["spec"]


def test_a_threshold_example_keeps_op_and_value_while_unbound():
    [slo] = openslo.parse(SEARCH)
    assert (slo.indicator, slo.comparator, slo.threshold) == ("unbound", "<", 500)
    assert slo.window_days == 14
    assert slo.dimension == "custom"  # no toc/dimension annotation


def test_a_calendar_week_with_timeslices():
    [slo] = openslo.parse(LOW_TRAFFIC)
    assert (slo.calendar, slo.budgeting) == ("week", "Timeslices")
    assert (slo.objective, slo.timeslice_target) == (0.9995, 0.95)
    assert slo.comparator == ">"


def test_an_indicator_ref_to_prometheus_good_and_total_binds_promql():
    [slo] = openslo.parse(PROMETHEUS)
    assert slo.indicator == "promql"
    assert slo.promql_good.startswith('sum(localhost_server_requests{code=~"2xx|3xx"')
    assert slo.promql_total.startswith('localhost_server_requests{code="total"')
    assert slo.objective == pytest.approx(0.995)
    assert slo.name == "availability"  # no displayName: the name
    assert slo.source is None


def test_toc_sources_bind_a_threshold_and_a_ratio():
    latency, drops = openslo.parse(TOC)
    assert latency == SloSpec(
        openslo_name="decision-latency",
        name="Decision within 5 minutes",
        dimension="time_to_decision",
        comparator="<=",
        target=5.0,
        unit="min",
        indicator="threshold",
        stage="review",
        field="latency_p95_ms",
        threshold=300000,
        objective=0.99,
        budgeting="Timeslices",
        timeslice_target=0.9,
        window_days=28,
    )
    assert (drops.indicator, drops.stage, drops.field, drops.total_field) == (
        "ratio",
        "scoring",
        "dropped",
        "throughput",
    )
    assert drops.calendar == "month"
    assert drops.comparator == ">="  # no op: the default


def test_what_a_document_leaves_unstated_is_named():
    latency, drops = openslo.parse(TOC)
    assert latency.unstated == {"measured_from", "source"}
    assert drops.unstated == {
        "dimension",
        "unit",
        "target",
        "measured_from",
        "comparator",
        "source",
        "window_days",  # a calendar month
    }
    [unbound] = openslo.parse(SEARCH)
    assert "source" not in unbound.unstated
    assert "comparator" not in unbound.unstated


def test_other_kinds_in_the_body_are_checked_and_skipped():
    body = (
        """
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: datadog-datasource
spec:
  type: Datadog
  connectionDetails: {accessKeyID: key}
---
"""
        + DATADOG
    )
    assert [s.openslo_name for s in openslo.parse(body)] == ["foo-slo"]


def _with(body: str, old: str, new: str) -> str:
    assert old in body
    return body.replace(old, new, 1)


TWO_DOCUMENTS = DATADOG + "---\n" + TOC

INVALID = [
    ("not: [closed", "the body is not YAML"),
    (
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: x}\nspec: {}\n",
        "the body holds no kind: SLO document",
    ),
    (
        _with(DATADOG, "openslo/v1", "openslo/v2alpha"),
        "document 1: apiVersion must be openslo/v1",
    ),
    (
        _with(DATADOG, "kind: SLO", "kind: Slo"),
        "document 1 (foo-slo): kind must be SLO, SLI, DataSource",
    ),
    (
        _with(DATADOG, "name: foo-slo", "name: Foo_SLO"),
        "document 1: metadata.name must be up to 63 lowercase letters",
    ),
    (
        _with(DATADOG, "name: foo-slo", "name: " + "a" * 64),
        "document 1: metadata.name must be up to 63",
    ),
    (
        _with(DATADOG, "  service: foo\n", ""),
        "document 1 (foo-slo): spec.service must be non-empty text",
    ),
    (
        _with(DATADOG, "budgetingMethod: Occurrences", "budgetingMethod: Events"),
        "document 1 (foo-slo): spec.budgetingMethod must be one of Occurrences, "
        "Timeslices, RatioTimeslices",
    ),
    (
        _with(TWO_DOCUMENTS, "target: 0.99\n", "target: 1.5\n"),
        "document 2 (decision-latency): spec.objectives[0].target must be "
        "between 0 and 1",
    ),
    (
        _with(DATADOG, "target: 0.98", "targetPercent: 100"),
        "document 1 (foo-slo): spec.objectives[0].targetPercent must be between "
        "0 and 100",
    ),
    (
        _with(DATADOG, "target: 0.98", "target: 0.98\n      targetPercent: 98"),
        "document 1 (foo-slo): spec.objectives[0] needs exactly one of target and "
        "targetPercent",
    ),
    (
        _with(DATADOG, "      target: 0.98", "      targett: 0.98"),
        "document 1 (foo-slo): spec.objectives[0].targett is not an OpenSLO",
    ),
    (
        _with(DATADOG, "duration: 28d", "duration: 28 days"),
        "document 1 (foo-slo): spec.timeWindow[0].duration must be a duration "
        "such as 28d, 4w or 1M",
    ),
    (
        _with(DATADOG, "duration: 28d", "duration: 1M"),
        "document 1 (foo-slo): spec.timeWindow[0].duration must be whole days or weeks",
    ),
    (
        _with(LOW_TRAFFIC, "duration: 1w", "duration: 1Q"),
        "document 1 (service-availability): spec.timeWindow[0].duration must be "
        "1w or 1M for toc's calendar windows",
    ),
    (
        _with(LOW_TRAFFIC, "America/New_York", "Mars/Olympus"),
        "document 1 (service-availability): spec.timeWindow[0].calendar.timeZone "
        "must name an IANA time zone",
    ),
    (
        _with(LOW_TRAFFIC, "      timeSliceTarget: 0.95\n", ""),
        "document 1 (service-availability): spec.objectives[0] needs "
        "timeSliceTarget with budgetingMethod Timeslices",
    ),
    (
        _with(LOW_TRAFFIC, "timeSliceWindow: 1m", "timeSliceWindow: 5m"),
        "document 1 (service-availability): spec.objectives[0].timeSliceWindow "
        "must be 1m",
    ),
    (
        _with(SEARCH, "      op: lt\n", ""),
        "document 1 (search-slo): spec.objectives[0] needs op and value for a "
        "thresholdMetric",
    ),
    (
        _with(SEARCH, "op: lt", "op: le"),
        "document 1 (search-slo): spec.objectives[0].op must be one of lte, lt, "
        "gte, gt",
    ),
    (
        _with(DATADOG, "            type: Datadog", "            kind: Datadog"),
        "document 1 (foo-slo): spec.indicator.spec.ratioMetric.good.metricSource"
        ".kind is not an OpenSLO v1 field here",
    ),
    (
        _with(DATADOG, "      target: 0.98", "      target: 0.98\n    - target: 0.9"),
        "document 1 (foo-slo): spec.objectives holds more than one objective",
    ),
    (
        _with(DATADOG, "  indicator:", "  indicatorRef: foo-error\n  indicator:"),
        "document 1 (foo-slo): spec needs exactly one of indicator and indicatorRef",
    ),
    (
        _with(PROMETHEUS, "indicatorRef: requests-ok", "indicatorRef: requests"),
        "document 2 (availability): spec.indicatorRef names no kind: SLI "
        "document in the body ('requests')",
    ),
    (
        _with(PROMETHEUS, "  ratioMetric:", "  thresholdMetric: {}\n  ratioMetric:"),
        "document 1 (requests-ok): spec needs exactly one of thresholdMetric and "
        "ratioMetric",
    ),
    (
        _with(TOC, "field: latency_p95_ms}", "field: latency_p95_ms, unit: ms}"),
        "document 1 (decision-latency): spec.indicator.spec.thresholdMetric."
        "metricSource.spec.unit is not an OpenSLO v1 field here",
    ),
    (
        _with(TOC, "bad:", "good:"),
        "document 2 (no-drops): spec.indicator.spec.ratioMetric.good toc's ratios "
        "count the bad events",
    ),
    (
        _with(TOC, "stage: scoring, field: throughput", "stage: review, field: t"),
        "document 2 (no-drops): spec.indicator.spec.ratioMetric.total.metricSource"
        ".spec.stage must be the bad metric's stage",
    ),
    (
        TOC + "---\n" + _with(TOC.split("---")[0], "Decision", "Again"),
        "document 3 (decision-latency): metadata.name is already the name of "
        "document 1",
    ),
    (
        _with(DATADOG, "query: sum:trace", "query: &q sum:trace").replace(
            "query: sum:trace.http.request.hits.by_http_status{*}.as_count()",
            "query: *q",
        ),
        "the body is not YAML: aliases (*name) are not accepted",
    ),
    (
        _with(DATADOG, "query: sum:trace", "when: 2024-01-01\n              query: x"),
        "spec.indicator.spec.ratioMetric.good.metricSource.spec.when is a date: "
        "quote it",
    ),
    (
        _with(DATADOG, "query: sum:trace", "query: .nan\n              q: x"),
        "metricSource.spec.query must be a finite number",
    ),
    (
        _with(SEARCH, "value: 500", "value: " + "9" * 400),
        "document 1 (search-slo): spec.objectives[0].value must be a finite number",
    ),
    (
        _with(SEARCH, "value: 500", "value: " + "9" * 5000),
        "the body holds a value YAML cannot read: Exceeds the limit",
    ),
    (
        _with(LOW_TRAFFIC, "2022-01-01 12:00:00", "2022-02-30 12:00:00"),
        "the body holds a value YAML cannot read: day is out of range for month",
    ),
    (
        _with(TOC, "toc/dimension:", "toc/dimensions:"),
        "document 1 (decision-latency): metadata.annotations.toc/dimensions is "
        "not one of toc's annotations (toc/dimension, toc/unit, toc/target, "
        "toc/measured-from, toc/comparator)",
    ),
    (
        _with(TOC, 'toc/target: "5.0"', "toc/target: 5"),
        "document 1 (decision-latency): metadata.annotations.toc/target must be text",
    ),
]


@pytest.mark.parametrize(("body", "message"), INVALID)
def test_an_invalid_document_is_refused_naming_the_problem(body, message):
    with pytest.raises(OpenSloError) as refused:
        openslo.parse(body)
    assert message in str(refused.value)


def test_the_example_with_two_objectives_and_a_one_minute_calendar_is_refused():
    # examples/budgeting-method/timeslices-slo.yaml: its comment says a month,
    # its duration says one minute ("1m").
    body = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: service-availability
spec:
  service: web-availability
  indicatorRef: web-availability
  timeWindow:
    - duration: 1m
      isRolling: false
      calendar:
        startTime: 2022-01-01 12:00:00
        timeZone: America/New_York
  budgetingMethod: Timeslices
  objectives:
    - displayName: Internal objective
      target: 0.995
      timeSliceTarget: 0.99
      timeSliceWindow: 1m
    - displayName: SLA
      target: 0.99
      timeSliceTarget: 0.99
      timeSliceWindow: 1m
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: web-availability
spec:
  ratioMetric:
    good: {metricSource: {type: Any, spec: {query: Any}}}
    total: {metricSource: {type: Any, spec: {query: Any}}}
"""
    with pytest.raises(OpenSloError, match="must be 1w or 1M"):
        openslo.parse(body)
    with pytest.raises(OpenSloError, match="holds more than one objective"):
        openslo.parse(body.replace("duration: 1m", "duration: 1M"))


def test_an_export_reads_back_as_the_same_slos():
    slos = openslo.parse(TOC) + openslo.parse(DATADOG) + openslo.parse(PROMETHEUS)
    written = openslo.emit(slos, service="loans")
    assert openslo.parse(written) == slos
    assert openslo.emit(openslo.parse(written), service="loans") == written


def test_the_header_is_written_as_comments():
    written = openslo.emit(openslo.parse(DATADOG), "foo", header="a\nb: c")
    assert written.startswith("# a\n# b: c\n---\n")


def test_what_keeps_an_slo_from_being_written():
    bound = openslo.parse(TOC)[0]
    assert openslo.missing(bound) is None
    assert openslo.missing(SloSpec("x", "x", indicator="")) == "no objective"
    no_indicator = SloSpec("x", "x", indicator="", objective=0.9)
    assert openslo.missing(no_indicator) == "no indicator"
    unset = SloSpec("x", "x", indicator="ratio", stage="s", objective=0.9)
    assert openslo.missing(unset) == "no field or total_field"


# Property: any SLO toc can hold with an objective is written as documents
# that read back to the same SLO.

_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
_text = st.text(min_size=1, max_size=40).filter(lambda t: t.strip())
_number = st.floats(allow_nan=False, allow_infinity=False, width=64)
_fraction = st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True)
_source = st.fixed_dictionaries(
    {
        "thresholdMetric": st.fixed_dictionaries(
            {
                "metricSource": st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["Datadog", "CloudWatch", "Any"]),
                        "spec": st.dictionaries(
                            _text, st.one_of(_text, _number, st.booleans()), max_size=3
                        ),
                    }
                )
            }
        )
    }
)


@st.composite
def slo_specs(draw) -> SloSpec:
    budgeting = draw(st.sampled_from(openslo.BUDGETING_METHODS))
    calendar = draw(st.sampled_from(["", "week", "month"]))
    indicator = draw(st.sampled_from(["threshold", "ratio", "promql", "unbound"]))
    comparator = draw(st.sampled_from(["<=", "<", ">=", ">", "=="]))
    # toc's threshold and the unbound thresholdMetric drawn below need a value.
    threshold = draw(
        _number if indicator in ("threshold", "unbound") else st.none() | _number
    )
    binding = {
        "threshold": {"stage": draw(_text), "field": draw(_text)},
        "ratio": {
            "stage": draw(_text),
            "field": draw(_text),
            "total_field": draw(_text),
        },
        "promql": {"promql_good": draw(_text), "promql_total": draw(_text)},
        "unbound": {"source": draw(_source)},
    }[indicator]
    timeslice_target = draw(
        st.floats(min_value=0, max_value=1, exclude_min=True)
        if budgeting == "Timeslices"
        else st.none() | st.floats(min_value=0, max_value=1, exclude_min=True)
    )
    return SloSpec(
        openslo_name=draw(_names),
        name=draw(_text),
        dimension=draw(st.sampled_from(["time_to_decision", "coverage", "custom"])),
        comparator=comparator,
        target=draw(st.none() | _number),
        unit=draw(st.sampled_from(["", "min", "%"])),
        measured_from=draw(st.sampled_from(["typed", "data_loss"])),
        indicator=indicator,
        threshold=threshold,
        objective=draw(_fraction),
        budgeting=budgeting,
        timeslice_target=timeslice_target,
        window_days=28 if calendar else draw(st.integers(1, 366)),
        calendar=calendar,
        **binding,
    )


@settings(deadline=None)
@given(
    st.lists(slo_specs(), min_size=1, max_size=3, unique_by=lambda s: s.openslo_name)
)
def test_any_slo_written_reads_back_the_same(specs):
    written = openslo.emit(specs, service="loans")
    assert openslo.parse(written) == specs
    assert openslo.emit(openslo.parse(written), service="loans") == written


def test_the_rest_of_the_indicator_keeps_its_place():
    # The documents' text, not only the parsed form: a reader sees OpenSLO.
    written = openslo.emit(openslo.parse(TOC)[:1], service="loans")
    assert written == textwrap.dedent(
        """\
        ---
        apiVersion: openslo/v1
        kind: SLO
        metadata:
          name: decision-latency
          displayName: Decision within 5 minutes
          annotations:
            toc/dimension: time_to_decision
            toc/unit: min
            toc/target: '5.0'
        spec:
          service: loans
          indicator:
            metadata:
              name: decision-latency
            spec:
              thresholdMetric:
                metricSource:
                  type: toc
                  spec:
                    stage: review
                    field: latency_p95_ms
          timeWindow:
          - duration: 28d
            isRolling: true
          budgetingMethod: Timeslices
          objectives:
          - op: lte
            value: 300000.0
            target: 0.99
            timeSliceTarget: 0.9
            timeSliceWindow: 1m
        """
    )


# Property: whatever the body, the answer is SLOs or an OpenSloError.

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["openslo/v1", "SLO", "SLI", "toc", "28d", "1w", "Timeslices"]),
)
_trees = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "apiVersion",
                    "kind",
                    "metadata",
                    "name",
                    "spec",
                    "indicator",
                    "indicatorRef",
                    "objectives",
                    "target",
                    "timeWindow",
                    "duration",
                    "ratioMetric",
                    "metricSource",
                    "type",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(st.lists(_trees, min_size=1, max_size=3))
def test_any_yaml_documents_give_slos_or_a_named_problem(documents):
    body = yaml.safe_dump_all(documents)
    try:
        openslo.parse(body)
    except OpenSloError as error:
        assert str(error).startswith(("document ", "the body "))


@settings(deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_slos_or_a_named_problem(text):
    try:
        openslo.parse(text)
    except OpenSloError as error:
        assert str(error).startswith(("document ", "the body "))
