"""Migration 0008 on a database whose SLOs still belong to each cycle."""

from __future__ import annotations

import pytest

from tests.database import migrate_to, migrate_to_latest
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("cycles", "0007_retrospective_notes"), ("systems", "0003_feature_bounds")]
AFTER = [("cycles", "0008_slos_belong_to_the_system")]


def test_each_system_takes_its_newest_cycles_slos_and_each_cycle_keeps_its_own():
    system, empty = SystemFactory(slos=False), SystemFactory(slos=False)
    old = migrate_to(BEFORE)
    try:
        Cycle = old.get_model("cycles", "Cycle")
        Slo = old.get_model("cycles", "Slo")
        first = Cycle.objects.create(
            system_id=system.pk, number=1, title="One", status="closed"
        )
        second = Cycle.objects.create(system_id=system.pk, number=2, title="Two")
        for cycle, measured in [(first, 47), (second, 3.2)]:
            Slo.objects.create(
                cycle=cycle,
                dimension="time_to_decision",
                name="Time to decision (p95)",
                comparator="<=",
                target=5,
                unit="min",
                measured=measured,
                position=0,
            )
        Slo.objects.create(
            cycle=second,
            dimension="data_loss",
            name="Data loss",
            comparator="<=",
            unit="%",
            measured_from="data_loss",
            position=1,
        )

        new = migrate_to(AFTER)
    finally:
        migrate_to_latest()

    slos = new.get_model("systems", "Slo").objects.order_by("position")
    assert [
        (s.name, s.target, s.measured, s.measured_from)
        for s in slos.filter(system_id=system.pk)
    ] == [
        ("Time to decision (p95)", 5, 3.2, "typed"),
        ("Data loss", None, None, "data_loss"),
    ]
    assert not slos.filter(system_id=empty.pk).exists()
    cycles = new.get_model("cycles", "Cycle").objects
    one, two = cycles.get(number=1), cycles.get(number=2)
    assert one.slos_opened == one.slos_closed
    assert one.slos_closed == [
        {
            "name": "Time to decision (p95)",
            "dimension": "time_to_decision",
            "comparator": "<=",
            "target": 5.0,
            "unit": "min",
            "measured": 47.0,
            "live": False,
            "status": "violated",
        }
    ]
    assert [(s["measured"], s["live"], s["status"]) for s in two.slos_opened] == [
        (3.2, False, "met"),
        (None, True, None),
    ]
    assert two.slos_closed is None
