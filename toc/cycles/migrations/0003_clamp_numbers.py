"""Moves numbers stored before the bounds of 0004 to the nearest end of their
range (a share of 1.5 to 1, hold hours of -1 to 0), so that its check
constraints can be added to an existing database: a constraint added NOT VALID
instead would still refuse any later save of such a row, and SQLite cannot add
one without copying every row through it. The rows' history keeps the values
as they were typed."""

from django.db import migrations

LARGEST = 1e12
RANGES = {
    "Slo": {"target": (0, LARGEST), "measured": (0, LARGEST)},
    "ValidationExperiment": {"capacity_factor": (0.01, 1000)},
    "Problem": {"gap_share": (0, 1)},
    "Tier": {"traffic_share": (0, 1), "exit_share": (0, 1), "latency_ms": (0, LARGEST)},
    "Criterion": {"threshold": (-LARGEST, LARGEST), "result": (-LARGEST, LARGEST)},
    "RolloutPhase": {"traffic_share": (0, 1), "hold_hours": (0, 366 * 24)},
    "OutcomeRow": {"before": (-LARGEST, LARGEST), "after": (-LARGEST, LARGEST)},
}


def clamp(apps, schema_editor):
    for model_name, fields in RANGES.items():
        rows = apps.get_model("cycles", model_name).objects
        for field, (low, high) in fields.items():
            rows.filter(**{f"{field}__lt": low}).update(**{field: low})
            rows.filter(**{f"{field}__gt": high}).update(**{field: high})


class Migration(migrations.Migration):
    dependencies = [("cycles", "0002_cycle_stage_names")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
