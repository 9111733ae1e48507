"""One cycle in progress per system: opening another is refused, Start next
cycle asks first, and a team admin can reopen a closed cycle with a reason."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.api.clients import user_of
from tests.cycles.conftest import BASE
from toc.accounts.models import Role
from toc.cycles.chain import DONE, DRAFT, MISSING, Step, unfinished
from toc.cycles.models import Cycle, CycleStatus
from toc.cycles.services import cycle_close, cycle_close_and_continue

HISTORY = "/systems/fraud/cycles/"


def test_the_database_refuses_a_second_open_cycle(personas, cycle) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.create(system=personas.system, number=2, title="Second")
    Cycle.objects.create(
        system=personas.system, number=2, title="Closed", status=CycleStatus.CLOSED
    )


def test_opening_a_second_cycle_is_refused_with_a_link_to_the_open_one(
    personas, cycle
) -> None:
    response = personas.teammate.post(HISTORY, {"title": "Second"})
    assert response.status_code == 409
    content = response.content.decode()
    assert "Cycle 1 is still in progress" in content
    assert f'href="{HISTORY}1/"' in content
    assert list(Cycle.objects.values_list("number", flat=True)) == [1]


def test_the_history_offers_to_open_a_cycle_only_when_none_is_in_progress(
    personas, cycle
) -> None:
    busy = personas.teammate.get(HISTORY).content.decode()
    assert "Cycle 1 is in progress" in busy
    assert "Open a cycle" not in busy
    cycle_close(cycle=cycle)
    free = personas.teammate.get(HISTORY).content.decode()
    assert "Open a cycle" in free


def test_start_next_cycle_first_lists_what_is_unfinished(personas, cycle) -> None:
    response = personas.teammate.get(f"{BASE}/next/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "7 steps of this cycle are not done" in content
    assert "Choose the assumption to break." in content
    assert f'href="{BASE}/conflict/"' in content
    assert "Close cycle 1 and open the next" in content
    assert f'href="{BASE}/outcome/">Cancel' in content
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.OPEN
    assert Cycle.objects.count() == 1


def test_the_outcome_step_leads_to_the_confirmation(personas, cycle) -> None:
    content = personas.teammate.get(f"{BASE}/outcome/").content.decode()
    assert f'href="{BASE}/next/">Start next cycle</a>' in content


def test_unfinished_is_every_step_not_done() -> None:
    steps = [Step("goal", "Goal", DONE), Step("problem", "Problem", DRAFT)]
    steps.append(Step("conflict", "Conflict", MISSING))
    assert [step.key for step in unfinished(steps)] == ["problem", "conflict"]


def test_a_viewer_is_not_asked_to_close(personas, cycle) -> None:
    assert personas.viewer.get(f"{BASE}/next/").status_code == 403
    assert personas.outsider.get(f"{BASE}/next/").status_code == 404


def test_a_cycle_can_be_closed_without_opening_another(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/next/", {"then": "stop"})
    assert response["Location"] == f"{BASE}/"
    assert list(Cycle.objects.values_list("number", "status")) == [
        (1, CycleStatus.CLOSED)
    ]


def test_an_admin_reopens_a_closed_cycle_with_the_reason_in_its_trail(
    personas, cycle
) -> None:
    cycle_close(cycle=cycle)
    assert cycle.stage_names
    page = personas.owner.get(f"{BASE}/")
    assert f'href="{BASE}/reopen/">Reopen this cycle' in page.content.decode()

    response = personas.owner.post(
        f"{BASE}/reopen/", {"reason": "The 75% phase failed after we closed."}
    )

    assert response["Location"] == f"{BASE}/"
    cycle.refresh_from_db()
    assert (cycle.status, cycle.closed_at, cycle.stage_names) == (
        CycleStatus.OPEN,
        None,
        {},
    )
    last = cycle.history.first()
    assert last.history_change_reason == "The 75% phase failed after we closed."
    assert last.history_user == user_of(personas, Role.ADMIN)
    trail = personas.viewer.get(f"{BASE}/").content.decode()
    assert "Reason:</span> The 75% phase failed after we closed." in trail


def test_a_reopen_needs_a_reason_and_keeps_the_form(personas, cycle) -> None:
    cycle_close(cycle=cycle)
    response = personas.owner.post(f"{BASE}/reopen/", {"reason": "  "})
    assert response.status_code == 200
    assert "Say why the cycle is reopened" in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_only_a_team_admin_reopens_a_cycle(personas, cycle) -> None:
    cycle_close(cycle=cycle)
    for persona, status in [("teammate", 403), ("viewer", 403), ("outsider", 404)]:
        client = getattr(personas, persona)
        assert client.get(f"{BASE}/reopen/").status_code == status
        response = client.post(f"{BASE}/reopen/", {"reason": "Mine"})
        assert response.status_code == status
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_a_cycle_is_not_reopened_while_another_is_in_progress(personas, cycle) -> None:
    cycle_close_and_continue(cycle=cycle)
    form = personas.owner.get(f"{BASE}/reopen/").content.decode()
    assert "cannot be reopened while" in form
    assert f'href="{HISTORY}2/"' in form
    assert 'name="reason"' not in form

    response = personas.owner.post(f"{BASE}/reopen/", {"reason": "Not done"})

    assert response.status_code == 409
    assert f'href="{HISTORY}2/"' in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CLOSED


def test_reopening_an_open_cycle_says_it_is_in_progress(personas, cycle) -> None:
    response = personas.owner.post(f"{BASE}/reopen/", {"reason": "Twice"}, follow=True)
    assert "Cycle 1 is in progress already." in response.content.decode()
    assert not cycle.history.exclude(history_change_reason=None).exists()
