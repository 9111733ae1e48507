"""The shapes of the API's answers that are built as plain dicts (the ledger,
series, samples, the calculators, the cycle export), for the schema only."""

from __future__ import annotations

from rest_framework import serializers

from toc.cycles.models import CycleStatus
from toc.cycles.records import LINKS, STEPS
from toc.metrics.ingest import MAX_BIGINT, MAX_EVENTS, MAX_RATE, MAX_TEXT


class StageLedgerLineSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(
        help_text="machine or human; a stage of people counts the same records/s."
    )
    samples = serializers.IntegerField()
    capacity = serializers.FloatField(allow_null=True)
    load = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    queue_depth = serializers.IntegerField(allow_null=True)
    queue_trend = serializers.FloatField(
        allow_null=True, help_text="Least-squares slope of the queue, records/s."
    )
    queue_trend_noise = serializers.FloatField(
        allow_null=True,
        help_text="The slope the queue's own scatter could fake, records/s; null "
        "with too few readings to tell.",
    )
    queue_growing = serializers.BooleanField(
        help_text="The trend is sustained: at least 3x its noise, 0.5% of the "
        "throughput, over a minute or more."
    )
    utilization = serializers.FloatField(
        allow_null=True,
        help_text="Share of time occupied, working or blocked (0..1); when samples "
        "leave it out, load / capacity + blocked.",
    )
    blocked = serializers.FloatField(
        allow_null=True,
        help_text="Share of time spent waiting on the next stage (part of "
        "utilization).",
    )
    backlog_state = serializers.CharField(allow_null=True)
    queue_seconds = serializers.FloatField(allow_null=True)
    drain_time_s = serializers.FloatField(
        allow_null=True, help_text="Null when the queue never drains."
    )
    headroom = serializers.FloatField(allow_null=True)
    failure_mode = serializers.CharField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # drf-stubs#78: a field named like a Serializer attribute
    dropped = serializers.IntegerField()
    first_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The stage's oldest sample in the window."
    )
    last_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The stage's newest sample, in or before the window."
    )
    silent = serializers.BooleanField(
        help_text="The stage stopped reporting while others go on: its newest "
        "sample is older than stale_after_s before the system's."
    )


class LedgerConstraintSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    headroom = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField()
    confidence_label = serializers.CharField()
    reason = serializers.CharField()
    held_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Sample time since which this stage has led without a break, "
        "once a move made it the held constraint; null while it is emerging.",
    )


class StageRefSerializer(serializers.Serializer):
    stage = serializers.CharField(
        allow_null=True, help_text="Null: outside the pipeline."
    )
    name = serializers.CharField(allow_null=True)


class HeldConstraintSerializer(StageRefSerializer):
    since = serializers.DateTimeField(help_text="Sample time.")


class EmergingConstraintSerializer(StageRefSerializer):
    since = serializers.DateTimeField(help_text="Sample time it started leading.")
    leading_s = serializers.FloatField()
    hold_s = serializers.FloatField(
        help_text="How long it must lead before the move is recorded."
    )


class NextConstraintSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    lift = serializers.FloatField(allow_null=True)


class LedgerSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    window_s = serializers.IntegerField()
    ceiling = serializers.FloatField(allow_null=True)
    max_input_rate = serializers.FloatField(allow_null=True)
    last_sample_at = serializers.DateTimeField(
        allow_null=True, help_text="The system's newest sample."
    )
    posting_interval_s = serializers.FloatField(
        allow_null=True, help_text="The usual time between a stage's samples."
    )
    stale_after_s = serializers.FloatField(
        help_text="Three posting intervals, and at least 120 s."
    )
    stale = serializers.BooleanField(
        help_text="The newest sample is older than stale_after_s: the pipeline "
        "stopped posting, and the ledger is not live."
    )
    age_s = serializers.FloatField(
        allow_null=True, help_text="Seconds since the newest sample."
    )
    constraint = LedgerConstraintSerializer(
        allow_null=True, help_text="The verdict of the current window."
    )
    external_constraint = serializers.BooleanField()
    reason = serializers.CharField()
    confidence = serializers.FloatField(
        help_text="Of the verdict, inside or outside the pipeline (0..1)."
    )
    confidence_label = serializers.CharField()
    near_tie = StageRefSerializer(
        allow_null=True, help_text="The stage nearly tied with the verdict's."
    )
    next_constraint = NextConstraintSerializer(allow_null=True)
    held = HeldConstraintSerializer(
        allow_null=True,
        help_text="The constraint as the last recorded move left it; null before "
        "any move.",
    )
    emerging = EmergingConstraintSerializer(
        allow_null=True,
        help_text="A verdict other than the held one, not yet led for hold_s.",
    )
    stages = StageLedgerLineSerializer(many=True)


class SampleSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="The stage's slug.")
    ts = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    throughput = serializers.FloatField(
        min_value=0, max_value=MAX_RATE, help_text="Records/s; 0 or at least 1e-9."
    )
    capacity = serializers.FloatField(
        min_value=0,
        max_value=MAX_RATE,
        required=False,
        allow_null=True,
        help_text="Records/s; 0 or at least 1e-9. Required, except for a stage "
        "of people (kind `human`), whose samples may leave it out: toc uses "
        "people x items per hour / 3600.",
    )
    utilization = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    latency_p95_ms = serializers.FloatField(min_value=0)
    queue_depth = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT)
    errors = serializers.IntegerField(  # type: ignore[assignment]  # drf-stubs#78: a field named like a Serializer attribute
        min_value=0, max_value=MAX_EVENTS, required=False, allow_null=True
    )
    dropped = serializers.IntegerField(
        min_value=0, max_value=MAX_EVENTS, required=False, allow_null=True
    )
    blocked = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    failure_mode = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT
    )


class SampleBatchSerializer(serializers.Serializer):
    # many=True makes a ListSerializer, which takes max_length: not in the stubs.
    samples = SampleSerializer(many=True, max_length=5000)  # type: ignore[call-arg]


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class StageSeriesSerializer(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    load = serializers.ListField(child=serializers.FloatField(allow_null=True))
    capacity = serializers.ListField(child=serializers.FloatField(allow_null=True))
    utilization = serializers.ListField(child=serializers.FloatField(allow_null=True))
    queue_depth = serializers.ListField(child=serializers.IntegerField(allow_null=True))
    latency_p95_ms = serializers.ListField(
        child=serializers.FloatField(allow_null=True)
    )


# "from" is a Python keyword, so this one is built from a dict.
SeriesSerializer = type(
    "SeriesSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateTimeField(),
        "to": serializers.DateTimeField(),
        "resolution_s": serializers.IntegerField(),
        "t": serializers.ListField(child=serializers.DateTimeField()),
        "stages": StageSeriesSerializer(many=True),
    },
)


class FindingSerializer(serializers.Serializer):
    stage = serializers.CharField(
        allow_null=True, help_text="Null: outside the pipeline, or no data."
    )
    ceiling = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()


class WhatIfStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    capacity = serializers.FloatField(allow_null=True)
    utilization = serializers.FloatField(allow_null=True)
    headroom = serializers.FloatField(allow_null=True, help_text="Null: unbounded.")


class WhatIfResultSerializer(serializers.Serializer):
    summary = serializers.CharField()
    before = FindingSerializer()
    after = FindingSerializer()
    stages = WhatIfStageSerializer(many=True)


class DecisionBudgetSerializer(serializers.Serializer):
    in_progress = serializers.FloatField()
    sustainable_alerts_per_day = serializers.FloatField()
    utilization = serializers.FloatField(
        allow_null=True, help_text="Null: work arrives but nobody is there to do it."
    )
    holds = serializers.BooleanField()


class TierLoadSerializer(serializers.Serializer):
    name = serializers.CharField()
    reach_share = serializers.FloatField()
    load = serializers.FloatField()
    required_capacity = serializers.FloatField()
    required_workers = serializers.FloatField()


class CascadePlanSerializer(serializers.Serializer):
    mean_latency_ms = serializers.FloatField()
    tiers = TierLoadSerializer(many=True)


# The JSON export's shape (toc.cycles.export documents each step's keys).


class ExportedSystemSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ExportedCycleSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=CycleStatus.choices)
    created = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


def _export_steps() -> dict[str, serializers.Field]:
    # A step with a record of its own (the problem) is null until it has one;
    # the goal, which has none, always has its lists and records.
    own = {kind.link for kind in LINKS}
    return {
        step: serializers.DictField(
            allow_null=step in own,
            help_text=f"{title}: its records' fields and its lists, as the format "
            "names them.",
        )
        for step, title in STEPS.items()
    }


CycleExportSerializer = type(
    "CycleExportSerializer",
    (serializers.Serializer,),
    {
        "format": serializers.ChoiceField(choices=["toc-cycle"]),
        "version": serializers.IntegerField(min_value=1),
        "exported_at": serializers.DateTimeField(),
        "as_of": serializers.DateTimeField(
            allow_null=True, help_text="The moment shown; null: when exported."
        ),
        "system": ExportedSystemSerializer(),
        "cycle": ExportedCycleSerializer(),
        **_export_steps(),
    },
)
