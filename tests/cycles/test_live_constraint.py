"""An open cycle says so when the live ledger finds the constraint elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.cycles.conftest import BASE
from toc.cycles.models import CycleStatus
from toc.metrics.models import SystemLedger

NOTICE = "The ledger now finds"


def _live_constraint(
    system, stage: str, name: str, *, minutes_ago: float = 1, held: bool = True
) -> None:
    newest = timezone.now() - timedelta(minutes=minutes_ago)
    since = (newest - timedelta(minutes=30)).isoformat()
    ref = {"stage": stage, "name": name}
    SystemLedger.objects.update_or_create(
        system=system,
        defaults={
            "payload": {
                "constraint": ref,
                "external_constraint": False,
                "held": {**ref, "since": since} if held else None,
                "emerging": None
                if held
                else {**ref, "since": since, "leading_s": 120.0, "hold_s": 300.0},
                "last_sample_at": newest.isoformat(),
                "window_end": newest.isoformat(),
                "stale_after_s": 120.0,
            }
        },
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
    assert notice.index("<strong>Inference</strong> holding the constraint") < (
        notice.index("</p>")
    )
    assert notice.index("not at Features") < notice.index("</p>")
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


def test_a_stale_ledger_is_quoted_as_it_stood_when_data_stopped(
    personas, cycle
) -> None:
    _choose(cycle, "features", "Features")
    _live_constraint(personas.system, "inference", "Inference", minutes_ago=20)

    content = personas.viewer.get(f"{BASE}/").content.decode()

    assert NOTICE not in content
    notice = content[content.index("When the pipeline last posted, at") :]
    notice = notice[: notice.index("</p>")]
    assert "<strong>Inference</strong> holding the constraint" in notice
    assert "No data has come since, so this may no longer hold." in notice


def test_a_stage_not_yet_held_is_called_emerging(personas, cycle) -> None:
    _choose(cycle, "features", "Features")
    _live_constraint(personas.system, "inference", "Inference", held=False)

    content = personas.viewer.get(f"{BASE}/").content.decode()

    assert "<strong>Inference</strong> emerging as the constraint" in content


def test_a_verdict_the_held_constraint_outlasts_raises_no_notice(
    personas, cycle
) -> None:
    """The card and the cycle agree: a window's verdict alone does not move it."""
    _choose(cycle, "features", "Features")
    _live_constraint(personas.system, "features", "Features")
    ledger = SystemLedger.objects.get(system=personas.system)
    ledger.payload["constraint"] = {"stage": "inference", "name": "Inference"}
    ledger.payload["emerging"] = {
        "stage": "inference",
        "name": "Inference",
        "since": ledger.payload["last_sample_at"],
        "leading_s": 60.0,
        "hold_s": 300.0,
    }
    ledger.save()

    content = personas.viewer.get(f"{BASE}/").content.decode()
    assert NOTICE not in content
    assert "message--warning" not in content
