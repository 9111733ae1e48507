"""SLOs move from each cycle to its system: the goal stays while the constraint
moves. Each system takes the SLOs of its newest cycle; each cycle keeps its own
as the record of its goal (`slos_opened`, and `slos_closed` once closed). What
the SLOs were when an existing cycle opened was not kept, so both records of
it hold its SLOs as they are (a closed cycle's as they stood at its close)."""

from django.db import migrations, models

from toc.analysis import evaluate_slo

FIELDS = [
    "dimension",
    "name",
    "comparator",
    "target",
    "unit",
    "measured",
    "measured_from",
    "position",
]


def _record(row) -> dict:
    measured = row.measured
    return {
        "name": row.name,
        "dimension": row.dimension,
        "comparator": row.comparator,
        "target": row.target,
        "unit": row.unit,
        "measured": measured,
        "live": row.measured_from != "typed",
        "status": (
            str(evaluate_slo(row.comparator, row.target, measured))
            if row.target is not None
            else None
        ),
    }


def slos_to_systems(apps, schema_editor):
    Cycle = apps.get_model("cycles", "Cycle")
    CycleSlo = apps.get_model("cycles", "Slo")
    SystemSlo = apps.get_model("systems", "Slo")
    newest = {}
    for cycle in Cycle.objects.order_by("system_id", "number"):
        rows = list(CycleSlo.objects.filter(cycle=cycle).order_by("position", "id"))
        cycle.slos_opened = [_record(row) for row in rows]
        cycle.slos_closed = cycle.slos_opened if cycle.status == "closed" else None
        cycle.save(update_fields=["slos_opened", "slos_closed"])
        newest[cycle.system_id] = rows
    SystemSlo.objects.bulk_create(
        SystemSlo(system_id=system_id, **{name: getattr(row, name) for name in FIELDS})
        for system_id, rows in newest.items()
        for row in rows
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0007_retrospective_notes"),
        ("systems", "0004_slos"),
    ]

    operations = [
        migrations.AddField(
            model_name="cycle",
            name="slos_closed",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="cycle",
            name="slos_opened",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="historicalcycle",
            name="slos_closed",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalcycle",
            name="slos_opened",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(slos_to_systems, migrations.RunPython.noop),
        migrations.RemoveField(model_name="historicalslo", name="cycle"),
        migrations.RemoveField(model_name="historicalslo", name="history_user"),
        migrations.RemoveConstraint(model_name="slo", name="slo_numbers_in_range"),
        migrations.DeleteModel(name="HistoricalSlo"),
        migrations.DeleteModel(name="Slo"),
    ]
