"""Migration 0005 on a database that has several open cycles of one system."""

from __future__ import annotations

import pytest

from tests.database import migrate_to, migrate_to_latest
from tests.factories import StageFactory, SystemFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("cycles", "0004_number_bounds")]
AFTER = [("cycles", "0005_one_open_cycle")]


def test_all_but_the_newest_open_cycle_are_closed_with_a_reason() -> None:
    system, other = SystemFactory(), SystemFactory()
    StageFactory(system=system, name="Features", slug="features")
    old = migrate_to(BEFORE)
    try:
        Cycle = old.get_model("cycles", "Cycle")
        for number, status in [(1, "closed"), (2, "open"), (3, "open"), (4, "open")]:
            Cycle.objects.create(
                system_id=system.pk, number=number, title=f"C{number}", status=status
            )
        Cycle.objects.create(system_id=other.pk, number=1, title="Alone")

        new = migrate_to(AFTER)
    finally:
        migrate_to_latest()

    cycles = new.get_model("cycles", "Cycle").objects
    assert sorted(cycles.values_list("system_id", "number", "status")) == sorted(
        [
            (system.pk, 1, "closed"),
            (system.pk, 2, "closed"),
            (system.pk, 3, "closed"),
            (system.pk, 4, "open"),
            (other.pk, 1, "open"),
        ]
    )
    closed_now = cycles.filter(system_id=system.pk, number__in=[2, 3])
    assert all(
        c.closed_at and c.stage_names == {"features": "Features"} for c in closed_now
    )
    reasons = new.get_model("cycles", "HistoricalCycle").objects.exclude(
        history_change_reason=None
    )
    assert sorted(reasons.values_list("number", "history_type")) == [(2, "~"), (3, "~")]
    assert reasons.first().history_change_reason == (
        "Closed when toc began allowing one cycle in progress per system: "
        "cycle 4 was newer and stayed open."
    )
