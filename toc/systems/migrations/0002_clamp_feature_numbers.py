"""Moves features' numbers stored before the bounds of 0003 into their range,
so that its check constraint can be added to an existing database (see
cycles.0003_clamp_numbers). A compute cost of 0, whose value read as infinite,
becomes the smallest cost, so the feature stays the most valuable."""

from django.db import migrations

LARGEST = 1e12
RANGES = {"importance": (0, LARGEST), "compute_cost": (0.000001, LARGEST)}


def clamp(apps, schema_editor):
    features = apps.get_model("systems", "Feature").objects
    for field, (low, high) in RANGES.items():
        features.filter(**{f"{field}__lt": low}).update(**{field: low})
        features.filter(**{f"{field}__gt": high}).update(**{field: high})


class Migration(migrations.Migration):
    dependencies = [("systems", "0001_initial")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
