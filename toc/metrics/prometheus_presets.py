"""Expressions for common exporters, offered on the Prometheus source page
to adapt (toc.dashboard.prometheus)."""

from __future__ import annotations

from dataclasses import dataclass

from toc.metrics.prometheus import STEP_S


@dataclass(frozen=True)
class Preset:
    """An expression for a common exporter, to adapt (the names in <>)."""

    field: str
    title: str
    promql: str


PRESETS = (
    Preset(
        "throughput",
        "Records processed per second, from a counter",
        "sum(rate(<records_processed_total>[1m]))",
    ),
    Preset(
        "throughput",
        "Kafka: records a consumer group reads per second (kafka_exporter)",
        'sum(rate(kafka_consumergroup_current_offset{consumergroup="<group>"}[1m]))',
    ),
    Preset(
        "capacity",
        "Workers times what one worker handles per second",
        'count(up{job="<job>"} == 1) * <records per second per worker>',
    ),
    Preset(
        "utilization",
        "Share of the time busy, from a counter of busy seconds",
        "avg(rate(<busy_seconds_total>[1m]))",
    ),
    Preset(
        "latency_p95_ms",
        "95th percentile of a histogram in seconds, in ms",
        "histogram_quantile(0.95, sum by (le) (rate(<duration_seconds>_bucket[5m])))"
        " * 1000",
    ),
    Preset(
        "queue_depth",
        "Kafka: a consumer group's lag (kafka_exporter)",
        'sum(kafka_consumergroup_lag{consumergroup="<group>"})',
    ),
    Preset(
        "queue_depth",
        "RabbitMQ: messages ready in a queue",
        'sum(rabbitmq_queue_messages_ready{queue="<queue>"})',
    ),
    Preset(
        "queue_depth",
        "A queue length your pipeline exports as a gauge",
        "sum(<queue_length>)",
    ),
    Preset(
        "errors",
        f"Errors since the previous sample ({STEP_S} s before), from a counter",
        f"sum(rate(<errors_total>[1m])) * {STEP_S}",
    ),
    Preset(
        "dropped",
        f"Records dropped since the previous sample ({STEP_S} s before), from a "
        "counter",
        f"sum(rate(<dropped_total>[1m])) * {STEP_S}",
    ),
    Preset(
        "blocked",
        "Share of the time waiting on the next stage, from a counter",
        "avg(rate(<blocked_seconds_total>[1m]))",
    ),
)
