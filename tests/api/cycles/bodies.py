"""A valid body for each list of a cycle, for the API tests and the fuzzers."""

from __future__ import annotations

# A valid body for a system's SLO (…/systems/{slug}/slos/).
SLO = {
    "name": "Recall",
    "dimension": "custom",
    "comparator": ">=",
    "target": 90,
    "unit": "%",
    "measured": None,
    "measured_from": "typed",
}

VALID_ROWS = {
    "whys": {"answer": "Because", "evidence": "logs", "validated": True},
    "assumptions": {"arrow": "b_d", "text": "All records need the same depth"},
    "tiers": {
        "name": "Tier-1",
        "traffic_share": 1,
        "exit_share": 0.68,
        "latency_ms": 3,
    },
    "criteria": {"metric": "False negatives", "comparator": "==", "threshold": 0},
    "phases": {
        "name": "Extra",
        "traffic_share": 0.5,
        "hold_hours": 24,
        "status": "pending",
    },
    "outcome-rows": {"metric": "Alerts a day", "before": 847, "after": 11},
}
