from django.db import migrations, models


def keep_names_of_closed_cycles(apps, schema_editor):
    """Closed cycles keep the names their stages have now: the names they had
    at close are not known, and from now on later renames leave them alone."""
    Cycle = apps.get_model("cycles", "Cycle")
    HistoricalCycle = apps.get_model("cycles", "HistoricalCycle")
    Stage = apps.get_model("systems", "Stage")
    names_by_system = {}
    for stage in Stage.objects.order_by("position"):
        names_by_system.setdefault(stage.system_id, {})[stage.slug] = stage.name
    for cycle in Cycle.objects.filter(status="closed"):
        names = names_by_system.get(cycle.system_id, {})
        Cycle.objects.filter(pk=cycle.pk).update(stage_names=names)
        HistoricalCycle.objects.filter(id=cycle.pk, status="closed").update(
            stage_names=names
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("systems", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="cycle",
            name="stage_names",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="historicalcycle",
            name="stage_names",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(keep_names_of_closed_cycles, migrations.RunPython.noop),
    ]
