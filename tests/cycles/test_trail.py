from __future__ import annotations

import pytest
from django.utils import timezone

from tests.cycles.conftest import BASE
from toc.accounts.models import Membership, Role
from toc.cycles.models import Assumption, Cycle, CycleStatus, RolloutPhase, Why
from toc.cycles.services import cycle_close
from toc.cycles.trail import entries, trail
from toc.systems.models import Feature

HTMX = {"HX-Request": "true"}


def _username(personas, role: Role) -> str:
    return Membership.objects.get(team=personas.team, role=role).user.username


def _newest(personas, client=None):
    """The newest entries of the trail, as the cycle page shows them."""
    response = (client or personas.viewer).get(f"{BASE}/")
    assert response.status_code == 200
    return response.context["trail"], response.content.decode()


def test_a_step_form_edit_shows_who_changed_what(personas, cycle) -> None:
    personas.teammate.post(
        f"{BASE}/problem/",
        {
            "form": "problem",
            "problem-statement": "Tier 2 computes every feature",
            "problem-root_cause": "organizational",
        },
    )

    newest, content = _newest(personas)

    entry = newest[0]
    assert (entry.who, entry.action, entry.record) == (
        _username(personas, Role.EDITOR),
        "changed",
        "problem",
    )
    changes = {change.field: (change.old, change.new) for change in entry.changes}
    assert changes["Statement"] == ("", "Tier 2 computes every feature")
    assert changes["Root cause"] == ("", "Organizational")
    assert "Tier 2 computes every feature" in content
    assert _username(personas, Role.EDITOR) in content


def test_an_inline_htmx_edit_shows_old_and_new_value(personas, cycle) -> None:
    personas.teammate.post(
        f"{BASE}/whys/add/", {"new-whys-answer": "First try"}, headers=HTMX
    )
    pk = Why.objects.get().pk
    personas.owner.post(
        f"{BASE}/whys/{pk}/edit/",
        {f"edit-whys-{pk}-answer": "Better answer", f"edit-whys-{pk}-validated": "on"},
        headers=HTMX,
    )

    newest, content = _newest(personas)

    edit, added = newest[0], newest[1]
    assert (edit.who, edit.action, edit.record) == (
        _username(personas, Role.ADMIN),
        "changed",
        "why",
    )
    changes = {change.field: (change.old, change.new) for change in edit.changes}
    assert changes == {
        "Answer": ("First try", "Better answer"),
        "Validated": ("no", "yes"),
    }
    assert (added.who, added.action, added.title) == (
        _username(personas, Role.EDITOR),
        "created",
        "First try",
    )
    assert "<del>First try</del> → <ins>Better answer</ins>" in content


def test_reordering_leaves_history_although_it_writes_in_bulk(personas, cycle) -> None:
    for answer in ("a", "b"):
        personas.teammate.post(f"{BASE}/whys/add/", {"new-whys-answer": answer})
    second = Why.objects.get(answer="b")
    personas.teammate.post(f"{BASE}/whys/{second.pk}/move/", {"direction": "up"})

    newest, _ = _newest(personas)

    moves = {e.title: e.changes for e in newest if e.action == "changed"}
    assert [(c.field, c.old, c.new) for c in moves["b"]] == [
        ("Place in the list", "2", "1")
    ]
    assert [(c.field, c.old, c.new) for c in moves["a"]] == [
        ("Place in the list", "1", "2")
    ]
    assert second.history.first().position == 0


def test_deleting_the_broken_assumption_records_the_conflict_change(
    personas, cycle
) -> None:
    broken = Assumption.objects.create(
        conflict=cycle.conflict, arrow="b_d", text="All records alike"
    )
    cycle.conflict.broken_assumption = broken
    cycle.conflict.save()
    personas.teammate.post(f"{BASE}/assumptions/{broken.pk}/delete/")

    newest, _ = _newest(personas)

    deleted, cleared = newest[0], newest[1]
    assert (deleted.action, deleted.record, deleted.title) == (
        "deleted",
        "assumption",
        "All records alike",
    )
    assert [(c.field, c.old, c.new) for c in cleared.changes] == [
        ("Broken assumption", "All records alike", "")
    ]


def test_records_made_in_bulk_when_the_cycle_opens_are_in_the_trail(
    personas,
) -> None:
    personas.teammate.post("/systems/fraud/cycles/", {"title": "Opened by hand"})
    cycle = Cycle.objects.get()

    made = entries(trail(cycle))

    created = {(e.record, e.title) for e in made if e.action == "created"}
    assert ("rollout phase", "Canary 10%") in created
    assert ("cycle", "Opened by hand") in created
    assert {e.who for e in made} == {_username(personas, Role.EDITOR)}
    assert RolloutPhase.history.filter(rollout_id=cycle.rollout.pk).count() == 6


def test_changes_to_the_systems_slos_show_while_the_cycle_is_open(
    personas, cycle
) -> None:
    slo = cycle.system.slos.get(dimension="coverage")
    slo.target = 95
    slo.save()
    cycle_close(cycle=cycle)
    slo.target = 99
    slo.save()

    changed = [e for e in entries(trail(cycle)) if e.record == "SLO"]

    assert [(e.title, e.changes[0].new) for e in changed] == [
        ("Coverage of relevant events", "95")
    ]


def test_feature_changes_show_while_the_cycle_is_open(personas, cycle) -> None:
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    personas.teammate.post(
        f"{BASE}/features/add/",
        {
            "new-features-name": "dst_port_entropy",
            "new-features-importance": "0.2",
            "new-features-compute_cost": "3",
        },
    )
    newest, _ = _newest(personas)
    assert (newest[0].record, newest[0].title) == ("feature", "dst_port_entropy")

    closed_at = timezone.now()
    Cycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.CLOSED, closed_at=closed_at
    )
    feature = Feature.objects.get()
    feature.importance = 0.5
    feature.save()
    newest, _ = _newest(personas)
    assert not [e for e in newest if e.record == "feature" and e.action == "changed"]


def test_a_change_made_by_a_command_says_no_one_was_signed_in(personas, cycle) -> None:
    newest, content = _newest(personas)
    assert newest[0].who == ""  # the fixture opens the cycle outside a request
    assert "no signed-in user" in content


def test_the_cycle_page_shows_the_newest_and_links_the_full_trail(
    personas, cycle
) -> None:
    for n in range(30):
        Why.objects.create(problem=cycle.problem, position=n, answer=f"why {n}")

    newest, content = _newest(personas)

    assert len(newest) == 20
    assert newest[0].title == "why 29"
    total = trail(cycle).count()
    assert f"all {total} changes" in content
    assert f'href="{BASE}/trail/"' in content


def test_the_full_trail_is_paginated(personas, cycle) -> None:
    for n in range(60):
        Why.objects.create(problem=cycle.problem, position=n, answer=f"why {n}")
    first = personas.viewer.get(f"{BASE}/trail/")
    last = personas.viewer.get(f"{BASE}/trail/", {"page": 2})
    assert first.status_code == last.status_code == 200
    assert len(first.context["trail"]) == 50
    assert first.context["trail"][0].title == "why 59"
    total = first.context["page"].paginator.count
    assert len(last.context["trail"]) == total - 50
    assert 'href="?page=2"' in first.content.decode()


def test_free_text_in_the_trail_is_escaped(personas, cycle) -> None:
    Why.objects.create(problem=cycle.problem, position=0, answer="<b>bold</b> claim")
    _, content = _newest(personas)
    assert "<b>bold</b>" not in content
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in content


@pytest.mark.parametrize("path", ["/", "/trail/"])
def test_outsider_gets_404_on_the_trail(personas, cycle, path) -> None:
    assert personas.outsider.get(f"{BASE}{path}").status_code == 404


def test_a_closed_cycle_keeps_its_trail_and_refuses_edits(personas, cycle) -> None:
    personas.teammate.post(f"{BASE}/next/")
    response = personas.teammate.post(
        f"{BASE}/problem/", {"form": "problem", "problem-statement": "late"}
    )
    assert response.status_code == 403
    newest, _ = _newest(personas)
    status = next(e for e in newest if e.record == "cycle")
    assert ("Status", "In progress", "Closed") in [
        (c.field, c.old, c.new) for c in status.changes
    ]
    names = ", ".join(personas.system.stages.values_list("name", flat=True))
    assert ("Stage names", "", names) in [
        (c.field, c.old, c.new) for c in status.changes
    ]
    assert not [e for e in newest if e.record == "problem" and e.action == "changed"]
