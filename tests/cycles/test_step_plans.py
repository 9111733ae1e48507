"""Each step of a cycle has an owner (one of the system's team) and a due date;
editors set them, viewers read them, another team sees nothing; the history
marks cycles with steps past due."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from tests.api.clients import user_of
from tests.cycles.conftest import BASE, backdate, open_beside
from toc.accounts.models import Role
from toc.cycles.models import Cycle, CycleStatus, StepPlan
from toc.cycles.steps_plan import default_due

HISTORY = "/systems/fraud/cycles/"


def _plan(client, step="experiment", **data):
    return client.post(f"{BASE}/{step}/", {"form": "step-plan", **data})


def test_an_editor_assigns_an_owner_and_a_due_date(personas, cycle) -> None:
    viewer = user_of(personas, Role.VIEWER)
    response = _plan(personas.teammate, owner=viewer.username, due="2031-05-04")
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/experiment/#step-plan"
    plan = StepPlan.objects.get(cycle=cycle, step="experiment")
    assert (plan.owner, plan.due) == (viewer, date(2031, 5, 4))
    page = personas.viewer.get(f"{BASE}/experiment/").content.decode()
    assert f"<strong>{viewer.username}</strong> owns this step; due 2031-05-04" in page
    form = personas.teammate.get(f"{BASE}/experiment/").content.decode()
    assert f'<option value="{viewer.username}" selected>' in form


def test_only_members_of_the_team_can_own_a_step(personas, cycle) -> None:
    stranger = user_of(personas, None)
    response = _plan(personas.teammate, owner=stranger.username, due="2031-13-01")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose someone in this system&#x27;s team (by username)." in page
    assert "Enter the date as YYYY-MM-DD." in page
    assert 'value="2031-13-01"' in page  # kept as typed
    assert not StepPlan.objects.exists()


def test_a_viewer_reads_the_plan_but_cannot_change_it(personas, cycle) -> None:
    page = personas.viewer.get(f"{BASE}/problem/").content.decode()
    assert "Nobody owns this step yet; no due date." in page
    assert 'name="form" value="step-plan"' not in page
    assert _plan(personas.viewer, step="problem", due="2031-01-01").status_code == 403
    assert not StepPlan.objects.exists()


def test_another_team_gets_404_for_the_plan(personas, cycle) -> None:
    assert personas.outsider.get(f"{BASE}/problem/").status_code == 404
    assert _plan(personas.outsider, due="2031-01-01").status_code == 404
    assert not StepPlan.objects.exists()


def test_a_closed_cycle_keeps_its_plans(personas, cycle) -> None:
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    assert _plan(personas.teammate, due="2031-01-01").status_code == 403
    assert not StepPlan.objects.exists()


def test_the_rollout_is_due_when_its_holds_have_passed(personas, cycle) -> None:
    # The standard phases hold 168 + 4 × 48 + 168 hours: 22 days.
    assert default_due(cycle, "rollout") == (cycle.created + timedelta(days=22)).date()
    assert default_due(cycle, "experiment") is None  # no timebox on record
    page = personas.viewer.get(f"{BASE}/rollout/").content.decode()
    assert f"due {default_due(cycle, 'rollout'):%Y-%m-%d}" in page


def test_owner_and_due_changes_are_in_the_trail(personas, cycle) -> None:
    _plan(personas.teammate, due="2031-05-04")
    _plan(personas.teammate, due="2031-06-01")
    trail = personas.viewer.get(f"{BASE}/trail/").content.decode()
    assert "owner and due date of “experiment”" in trail
    assert "2031-05-04" in trail
    assert "2031-06-01" in trail


def test_the_history_counts_the_steps_overdue(personas, cycle) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    for step in ["goal", "problem"]:
        StepPlan.objects.create(cycle=cycle, step=step, due=yesterday)
    StepPlan.objects.create(cycle=cycle, step="conflict", due=timezone.localdate())
    page = personas.viewer.get(HISTORY).content.decode()
    assert "2 steps overdue" in page


def test_a_step_past_due_says_so_on_its_page(personas, cycle) -> None:
    _plan(personas.teammate, due="2020-01-02")
    page = personas.viewer.get(f"{BASE}/experiment/").content.decode()
    assert 'due 2020-01-02. <span class="badge badge--medium">Overdue</span>' in page


def test_the_rollout_counts_as_overdue_once_its_holds_have_passed(
    personas, cycle
) -> None:
    backdate(21)
    assert "overdue" not in personas.viewer.get(HISTORY).content.decode()
    backdate(2)
    assert "1 step overdue" in personas.viewer.get(HISTORY).content.decode()
    _plan(personas.teammate, step="rollout", due="2099-01-01")  # moved out
    assert "overdue" not in personas.viewer.get(HISTORY).content.decode()


def test_a_closed_cycle_has_nothing_overdue(personas, cycle) -> None:
    earlier = open_beside(cycle, "Earlier")
    StepPlan.objects.create(cycle=earlier, step="goal", due=date(2020, 1, 1))
    assert "overdue" not in personas.viewer.get(HISTORY).content.decode()


def test_the_overdue_counts_cost_no_query_per_cycle(
    personas, cycle, django_assert_max_num_queries
) -> None:
    StepPlan.objects.create(cycle=cycle, step="goal", due=date(2020, 1, 1))
    open_beside(cycle, "Earlier")
    personas.viewer.get(HISTORY)  # warm caches
    with django_assert_max_num_queries(60) as counted:
        assert "1 step overdue" in personas.viewer.get(HISTORY).content.decode()
    for number in range(10):
        open_beside(cycle, f"Earlier {number}")
    with django_assert_max_num_queries(len(counted)):
        assert "1 step overdue" in personas.viewer.get(HISTORY).content.decode()
