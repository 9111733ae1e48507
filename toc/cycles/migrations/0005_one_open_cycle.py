"""One cycle in progress per system, as a constraint.

A database made before it may hold several open cycles of one system: all but
the newest (the highest number) are closed first, as Cycle.close() closes one,
and each closing is written to the cycle's trail with its reason. An admin can
reopen one of them later, once the newest is closed."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Max, Q
from django.utils import timezone

REASON = (
    "Closed when toc began allowing one cycle in progress per system: "
    "cycle {kept} was newer and stayed open."
)


def close_all_but_the_newest(apps, schema_editor):
    Cycle = apps.get_model("cycles", "Cycle")
    HistoricalCycle = apps.get_model("cycles", "HistoricalCycle")
    Stage = apps.get_model("systems", "Stage")
    crowded = (
        Cycle.objects.filter(status="open")
        .values("system_id")
        .annotate(open=Count("id"), newest=Max("number"))
        .filter(open__gt=1)
    )
    now = timezone.now()
    for system in crowded:
        names = dict(
            Stage.objects.filter(system_id=system["system_id"]).values_list(
                "slug", "name"
            )
        )
        older = Cycle.objects.filter(
            system_id=system["system_id"], status="open", number__lt=system["newest"]
        )
        for cycle in older:
            cycle.status, cycle.closed_at, cycle.stage_names = "closed", now, names
            cycle.save(update_fields=["status", "closed_at", "stage_names"])
            # Historical models in a migration do not write their own history.
            HistoricalCycle.objects.create(
                id=cycle.id,
                system_id=cycle.system_id,
                number=cycle.number,
                title=cycle.title,
                status=cycle.status,
                created=cycle.created,
                created_by_id=cycle.created_by_id,
                closed_at=cycle.closed_at,
                stage_names=cycle.stage_names,
                history_date=now,
                history_type="~",
                history_change_reason=REASON.format(kept=system["newest"]),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0004_number_bounds"),
        ("systems", "0003_feature_bounds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalcycle",
            name="history_change_reason",
            field=models.TextField(null=True),
        ),
        migrations.RunPython(close_all_but_the_newest, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="cycle",
            constraint=models.UniqueConstraint(
                condition=Q(("status", "open")),
                fields=("system",),
                name="one_open_cycle_per_system",
            ),
        ),
    ]
