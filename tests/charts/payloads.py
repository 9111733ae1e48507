"""Plain inputs for the figure builders, in the shapes the pages pass them."""

from __future__ import annotations


def stage_row(name: str, utilization: float | None = 0.5, **fields) -> dict:
    has_data = utilization is not None
    capacity = 1000.0
    row = {
        "stage": name.lower().replace(" ", "-"),
        "name": name,
        "samples": 30 if has_data else 0,
        "capacity": capacity if has_data else None,
        "load": capacity * utilization if has_data else None,
        "utilization": utilization,
        "blocked": 0.0 if has_data else None,
        "latency_p95_ms": 40.0 if has_data else None,
        "queue_depth": 10 if has_data else None,
        "queue_trend": 0.0 if has_data else None,
        "backlog_state": "clear" if has_data else None,
        "headroom": 1 / utilization if utilization else None,
        "failure_mode": "",
        "errors": 0,
        "dropped": 0,
    }
    row.update(fields)
    return row


def ledger(*rows: dict, constraint: str | None = None, reason: str = "") -> dict:
    by_slug = {row["stage"]: row for row in rows}
    return {
        "window_end": "2026-11-29T10:00:00+00:00",
        "window_s": 300,
        "stages": list(rows),
        "constraint": (
            {
                "stage": constraint,
                "name": by_slug[constraint]["name"],
                "headroom": by_slug[constraint]["headroom"],
                "confidence": 0.8,
                "confidence_label": "high",
                "reason": reason,
            }
            if constraint
            else None
        ),
    }
