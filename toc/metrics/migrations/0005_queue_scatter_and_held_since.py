"""Rollups keep Σq² (the queue's scatter around its trend); findings keep when the
confirmed constraint started leading. Both are filled in for the data already here."""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F, FloatField, OuterRef, Subquery, Sum
from django.db.models.functions import Cast, Coalesce


def fill_queue_squares(apps, schema_editor):
    Rollup = apps.get_model("metrics", "Rollup")
    Sample = apps.get_model("metrics", "Sample")
    depth = Cast(F("queue_depth"), FloatField())
    squares = (
        Sample.objects.filter(
            stage=OuterRef("stage"),
            ts__gte=OuterRef("minute"),
            ts__lt=OuterRef("minute") + timedelta(minutes=1),
        )
        .values("stage")
        .annotate(total=Sum(depth * depth))
        .values("total")
    )
    Rollup.objects.update(queue_sq_sum=Coalesce(Subquery(squares), 0.0))


def fill_confirmed_since(apps, schema_editor):
    Finding = apps.get_model("metrics", "ConstraintFinding")
    Event = apps.get_model("metrics", "ConstraintEvent")
    for system_id in Finding.objects.values_list("system_id", flat=True).distinct():
        moves = list(
            Event.objects.filter(system_id=system_id)
            .order_by("decided_minute")
            .values_list("decided_minute", "at")
        )
        changed = []
        since, next_move = None, 0
        for finding in Finding.objects.filter(system_id=system_id).order_by("minute"):
            while next_move < len(moves) and moves[next_move][0] <= finding.minute:
                since = moves[next_move][1]
                next_move += 1
            if since is not None:
                finding.confirmed_since = since
                changed.append(finding)
        Finding.objects.bulk_update(changed, ["confirmed_since"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_pending_minute_marks_without_unique_key")]

    operations = [
        migrations.AddField(
            model_name="rollup",
            name="queue_sq_sum",
            field=models.FloatField(default=0.0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="constraintfinding",
            name="confirmed_since",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill_queue_squares, migrations.RunPython.noop),
        migrations.RunPython(fill_confirmed_since, migrations.RunPython.noop),
    ]
