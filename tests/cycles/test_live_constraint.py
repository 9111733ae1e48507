"""An open cycle says so when the live ledger finds the constraint elsewhere."""

from __future__ import annotations

import pytest

from tests.cycles.conftest import BASE
from toc.cycles.models import CycleStatus
from toc.metrics.models import SystemLedger

NOTICE = "The live ledger now finds"


def _live_constraint(system, stage: str, name: str) -> None:
    SystemLedger.objects.update_or_create(
        system=system,
        defaults={"payload": {"constraint": {"stage": stage, "name": name}}},
    )


def _choose(cycle, stage: str, name: str) -> None:
    cycle.constraint.stage, cycle.constraint.stage_name = stage, name
    cycle.constraint.save()


@pytest.mark.parametrize("page", ["", "problem/", "trail/"])
def test_a_cycle_on_a_stage_that_no_longer_limits_says_where_the_constraint_is(
    personas, cycle, page
) -> None:
    _choose(cycle, "features", "Features")
    _live_constraint(personas.system, "inference", "Inference")
    content = personas.viewer.get(f"{BASE}/{page}").content.decode()
    notice = content[content.index(NOTICE) :]
    assert notice.index("<strong>Inference</strong>") < notice.index("</p>")
    assert notice.index("not Features") < notice.index("</p>")
    assert 'href="/systems/fraud/"' in notice[: notice.index("</p>")]


@pytest.mark.parametrize(
    "case", ["same stage", "no stage chosen", "no ledger yet", "closed"]
)
def test_no_notice_when_the_cycle_works_on_the_constraint_or_cannot(
    personas, cycle, case
) -> None:
    if case != "no stage chosen":
        _choose(cycle, "features", "Features")
    if case != "no ledger yet":
        live = "features" if case == "same stage" else "inference"
        _live_constraint(personas.system, live, live.title())
    if case == "closed":
        cycle.status = CycleStatus.CLOSED
        cycle.save(update_fields=["status"])
    assert NOTICE not in personas.viewer.get(f"{BASE}/").content.decode()
