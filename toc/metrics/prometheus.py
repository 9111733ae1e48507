"""Stage samples read from a team's Prometheus server instead of posted.

A system's source names the server and, per stage, one PromQL expression per
sample field. Each pull asks for every expression over the time since the last
pull (range queries at STEP_S), joins the answers into one sample per stage
and step, and passes them through the ingest's own checks and storage: the
same rules, the same processing, and a (stage, ts) stored before is skipped,
so pulling a range twice stores nothing twice.

What goes wrong is kept per expression, in words: a server that cannot be
reached, an expression Prometheus refuses, one that gives several series or
none, a value the sample's rule refuses. One expression failing never stops
the others. A failure that may pass (the server down or slow) leaves the
pulled range where it was, so the next pull asks for the gap again; an
expression Prometheus refuses is left out until someone fixes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from toc.metrics.ingest import (
    BatchInvalid,
    SampleColumns,
    ingest_stages,
    samples_store,
    validate_batch,
)
from toc.metrics.ingest.checks import FILLED, MEASURES, Refusal
from toc.metrics.models import PrometheusQuery, PrometheusSource, Sample
from toc.metrics.promql import PrometheusFailed, api, number, one_series
from toc.systems.models import Stage, StageKind, System

# The sample fields an expression may give, in the sample's order (the
# failure mode is text, which no expression gives).
FIELDS = tuple(name for name, _ in MEASURES if name != "failure_mode")
RULES = dict(MEASURES)
# A sample without one of these is refused (capacity: unless a stage of people,
# whose capacity comes from the stage); what a rule says of no value tells.
REQUIRED = tuple(name for name in FIELDS if type(RULES[name](None)) is Refusal)
# Stored as whole numbers: Prometheus gives every value as a float.
WHOLE = frozenset(
    name
    for name in FIELDS
    if isinstance(Sample._meta.get_field(name), models.IntegerField)
)


def required_of(stage: Stage) -> tuple[str, ...]:
    """The fields every sample of the stage must have."""
    if stage.kind == StageKind.HUMAN:
        return tuple(name for name in REQUIRED if name != FILLED)
    return REQUIRED


# Sample times are multiples of the step, so that two pulls of one range give
# the same (stage, ts) pairs, which storage then skips.
STEP_S = 10
# A new source starts this far back; a source that could not pull for longer
# than MAX_GAP (server down for a day) resumes from MAX_GAP ago.
NEW_SOURCE_BACKFILL = timedelta(hours=1)
MAX_GAP = timedelta(hours=6)
# Prometheus is told to give up a little before the client stops waiting
# (promql.READ_TIMEOUT_S), so that a slow query says so itself.
QUERY_TIMEOUT = "9s"
# A pull stops asking once this many seconds have gone (the task's soft time
# limit is 60 s); what it did not ask for is asked for on the next pull.
PULL_BUDGET_S = 40
# Testing the expressions typed on the page stops after this many seconds:
# the person waits for the answer.
TRY_BUDGET_S = 20
MAX_PROMQL = 2000
MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 3600


def _stored(field_name: str, value: float) -> float | int:
    """The value as the sample's field takes it: counts as whole numbers."""
    if field_name in WHOLE and math.isfinite(value):
        return round(value)
    return value


def _shown(value: float) -> str:
    return f"{value:.6g}"


@dataclass
class QueryOutcome:
    """What one expression gave in a pull, or what went wrong."""

    values: dict[datetime, float] = field(default_factory=dict)
    error: str = ""
    passing: bool = False
    unreachable: bool = False


def _range(
    session: requests.Session, url: str, promql: str, start: datetime, end: datetime
) -> QueryOutcome:
    params = {
        "query": promql,
        "start": start.timestamp(),
        "end": end.timestamp(),
        "step": STEP_S,
        "timeout": QUERY_TIMEOUT,
    }
    try:
        points = one_series(api(session, url, "/api/v1/query_range", params))
    except PrometheusFailed as failed:
        return QueryOutcome(
            error=failed.words, passing=failed.passing, unreachable=failed.unreachable
        )
    values = {}
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            continue
        value = number(point[1])
        if value is not None:
            values[datetime.fromtimestamp(float(point[0]), UTC)] = value
    if not values:
        return QueryOutcome(
            error=f"No data from {start:%H:%M:%S} to {end:%H:%M:%S} UTC: the "
            "query matches no series then (a metric or label misspelt?)."
        )
    return QueryOutcome(values=values)


def _aligned(moment: datetime, *, up: bool) -> datetime:
    seconds = moment.timestamp() / STEP_S
    step = math.ceil(seconds) if up else math.floor(seconds)
    return datetime.fromtimestamp(step * STEP_S, UTC)


def pull_range(source: PrometheusSource, now: datetime) -> tuple[datetime, datetime]:
    """The sample times the next pull asks for: after the last one pulled
    (at most MAX_GAP ago), or NEW_SOURCE_BACKFILL back for a new source."""
    if source.pulled_until is None:
        start = now - NEW_SOURCE_BACKFILL
    else:
        start = max(source.pulled_until + timedelta(seconds=STEP_S), now - MAX_GAP)
    return _aligned(start, up=True), _aligned(now, up=False)


@dataclass(frozen=True)
class PullReport:
    stored: int  # samples new to the system
    offered: int  # samples that passed the checks (new or already stored)
    pulled_until: datetime | None


def source_pull(*, source_id: int, now: datetime | None = None) -> PullReport | None:
    """Pulls the source's range since its last pull; None if it is gone."""
    source = (
        PrometheusSource.objects.select_related("system").filter(pk=source_id).first()
    )
    if source is None:
        return None
    now = now or timezone.now()
    PrometheusSource.objects.filter(pk=source.pk).update(attempted_at=now)
    start, end = pull_range(source, now)
    queries = list(source.queries.select_related("stage"))
    if start > end or not queries:
        return PullReport(0, 0, source.pulled_until)
    outcomes: dict[int, QueryOutcome] = {}
    began = timezone.now()
    down: QueryOutcome | None = None
    with requests.Session() as session:
        for query in queries:
            if down is not None:
                # Each would wait for the connection to fail again.
                outcomes[query.pk] = down
                continue
            if (timezone.now() - began).total_seconds() > PULL_BUDGET_S:
                outcomes[query.pk] = QueryOutcome(
                    error=f"Not asked: the pull ran out of its {PULL_BUDGET_S} s; "
                    "the next pull asks again.",
                    passing=True,
                )
                continue
            outcomes[query.pk] = _range(session, source.url, query.promql, start, end)
            if outcomes[query.pk].unreachable:
                down = outcomes[query.pk]
    stored = _store(source.system, queries, outcomes, now)
    _record(queries, outcomes, stored.refusals, now)
    complete = not any(outcome.passing for outcome in outcomes.values())
    if complete:
        # Never back: a slower pull of an earlier range may finish after this one.
        PrometheusSource.objects.filter(pk=source.pk).filter(
            Q(pulled_until__isnull=True) | Q(pulled_until__lt=end)
        ).update(pulled_until=end)
    return PullReport(
        stored=stored.new,
        offered=stored.offered,
        pulled_until=end if complete else source.pulled_until,
    )


def _samples(
    queries: list[PrometheusQuery], outcomes: Mapping[int, QueryOutcome]
) -> list[tuple[dict, dict[str, PrometheusQuery]]]:
    """One sample per stage and step at which every required field has a value,
    with the query behind each field. A stage with an expression whose answer
    may still come (server down, timed out) waits for the next pull: a sample
    stored without that field would keep it missing for good."""
    by_stage: defaultdict[int, list[PrometheusQuery]] = defaultdict(list)
    for query in queries:
        by_stage[query.stage_id].append(query)
    samples = []
    for stage_queries in by_stage.values():
        if any(outcomes[q.pk].passing for q in stage_queries):
            continue
        stage: Stage = stage_queries[0].stage
        required = set(required_of(stage))
        of_field = {q.field: q for q in stage_queries}
        times = sorted(set().union(*(outcomes[q.pk].values for q in stage_queries)))
        for ts in times:
            sample: dict = {"stage": stage.slug, "ts": ts.isoformat()}
            for name, query in of_field.items():
                value = outcomes[query.pk].values.get(ts)
                if value is not None:
                    sample[name] = _stored(name, value)
            if required <= sample.keys():
                samples.append((sample, of_field))
    return samples


@dataclass(frozen=True)
class Stored:
    new: int  # samples the system did not have
    offered: int  # samples that passed the checks
    refusals: dict[int, str]  # the first refusal of each query's values, by id


def _store(
    system: System,
    queries: list[PrometheusQuery],
    outcomes: Mapping[int, QueryOutcome],
    now: datetime,
) -> Stored:
    """Checks and stores the pulled samples as ingest does. A refused value
    leaves its sample out, and is told on the query that gave it."""
    pairs = _samples(queries, outcomes)
    samples = [sample for sample, _ in pairs]
    stages = ingest_stages(system)
    refusals: dict[int, str] = {}
    try:
        batch = validate_batch(samples, stages.ids, now, stages.capacities)
    except BatchInvalid as invalid:
        refused = set()
        for error in invalid.errors:
            if error.index is None:
                continue
            refused.add(error.index)
            sample, of_field = pairs[error.index]
            query = of_field.get(error.field or "")
            if query is not None and query.pk not in refusals:
                refusals[query.pk] = (
                    f"{error.message}; the query gave {_shown(sample[error.field])} "
                    f"at {sample['ts'][11:19]} UTC, and that sample was left out."
                )
        samples = [s for index, s in enumerate(samples) if index not in refused]
        batch = validate_batch(samples, stages.ids, now, stages.capacities)
    if not batch.sample_count:
        return Stored(0, 0, refusals)
    known = _already_stored(batch)
    samples_store(system=system, batch=batch)
    return Stored(batch.sample_count - known, batch.sample_count, refusals)


def _already_stored(batch: SampleColumns) -> int:
    """How many of the batch's (stage, ts) the system has: storage skips them."""
    pairs = set(zip(batch.stage_id, batch.ts, strict=True))
    found = Sample.objects.filter(
        stage_id__in=set(batch.stage_id), ts__range=(min(batch.ts), max(batch.ts))
    ).values_list("stage_id", "ts")
    return sum(1 for pair in found if pair in pairs)


def _record(
    queries: Iterable[PrometheusQuery],
    outcomes: Mapping[int, QueryOutcome],
    refusals: Mapping[int, str],
    now: datetime,
) -> None:
    """Each query's last success and last error, in words."""
    with transaction.atomic():
        for query in queries:
            outcome = outcomes[query.pk]
            error = outcome.error or refusals.get(query.pk, "")
            changes: dict = {}
            if outcome.values:
                changes["last_success_at"] = now
            if error:
                changes |= {"last_error": error, "last_error_at": now}
            PrometheusQuery.objects.filter(pk=query.pk).update(**changes)


def source_configure(
    *,
    system: System,
    url: str,
    interval_s: int,
    queries: Mapping[str, Mapping[str, str]],
) -> PrometheusSource:
    """Sets the system's source to these expressions (by stage slug and field),
    all of them at once. An expression kept as it was keeps its last success
    and error; a changed one starts afresh."""
    stages = {stage.slug: stage for stage in system.stages.all()}
    with transaction.atomic():
        source, _ = PrometheusSource.objects.update_or_create(
            system=system, defaults={"url": url, "interval_s": interval_s}
        )
        existing = {(q.stage_id, q.field): q for q in source.queries.all()}
        wanted = {
            (stages[slug].pk, name): promql
            for slug, fields in queries.items()
            for name, promql in fields.items()
        }
        source.queries.exclude(
            pk__in=[q.pk for key, q in existing.items() if key in wanted]
        ).delete()
        for (stage_id, name), promql in wanted.items():
            query = existing.get((stage_id, name))
            if query is None:
                PrometheusQuery.objects.create(
                    source=source, stage_id=stage_id, field=name, promql=promql
                )
            elif query.promql != promql:
                query.promql, query.last_error = promql, ""
                query.last_success_at = query.last_error_at = None
                query.save()
    return source


@dataclass(frozen=True)
class Tried:
    """One expression run once, now: its value, or what is wrong in words."""

    value: float | None
    error: str = ""


def queries_try(
    *, url: str, queries: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str], Tried]:
    """Runs each expression (by stage slug and field) once as an instant query,
    and judges its value by the field's rule, as a pull would."""
    tried = {}
    began = timezone.now()
    down: Tried | None = None
    with requests.Session() as session:
        for (slug, name), promql in queries.items():
            if down is None and (timezone.now() - began).total_seconds() > TRY_BUDGET_S:
                down = Tried(
                    None, f"Not tested: testing ran out of its {TRY_BUDGET_S} s."
                )
            if down is not None:
                tried[slug, name] = down
                continue
            params = {"query": promql, "timeout": QUERY_TIMEOUT}
            try:
                points = one_series(api(session, url, "/api/v1/query", params))
            except PrometheusFailed as failed:
                tried[slug, name] = Tried(None, failed.words)
                if failed.unreachable:
                    down = tried[slug, name]
                continue
            value = number(points[0][1]) if points else None
            if value is None:
                tried[slug, name] = Tried(
                    None,
                    "No value now: the query matches no series (a metric or "
                    "label misspelt?), or gives NaN (nothing happened).",
                )
                continue
            verdict = RULES[name](_stored(name, value))
            refused = f"{name} {verdict.reason}" if type(verdict) is Refusal else ""
            tried[slug, name] = Tried(value, refused)
    return tried


def sources_due(now: datetime | None = None) -> list[int]:
    """Claims the sources whose interval has passed since their last pull.

    Each claim moves `attempted_at` only if no one moved it since it was read,
    so two beats (or a beat and a pull asked for on the page) send one pull.
    """
    now = now or timezone.now()
    claimed = []
    for pk, attempted_at, interval_s in PrometheusSource.objects.values_list(
        "pk", "attempted_at", "interval_s"
    ):
        if attempted_at and attempted_at + timedelta(seconds=interval_s) > now:
            continue
        if PrometheusSource.objects.filter(pk=pk, attempted_at=attempted_at).update(
            attempted_at=now
        ):
            claimed.append(pk)
    return claimed
