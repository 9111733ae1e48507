from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from toc.cycles.models import (
    Assumption,
    Cycle,
    CycleStatus,
    Decision,
    OutcomeRow,
)
from toc.cycles.services import cycle_close, cycle_open

HISTORY = "/systems/fraud/cycles/"


def _open(personas, title: str, *, days_ago: int = 0, closed: bool = False) -> Cycle:
    # The history's earlier cycles were closed before this one opened.
    personas.system.cycles.update(status=CycleStatus.CLOSED)
    cycle = cycle_open(system=personas.system, title=title)
    opened = timezone.now() - timedelta(days=days_ago)
    status = CycleStatus.CLOSED if closed else CycleStatus.OPEN
    Cycle.objects.filter(pk=cycle.pk).update(created=opened, status=status)
    return cycle


def test_each_cycle_reads_as_its_chain_in_one_line(personas, cycle) -> None:
    choice = cycle.constraint
    choice.stage, choice.stage_name = "features", "Features"
    choice.save()
    cycle.problem.root_cause = "stale_reference_data"
    cycle.problem.save()
    broken = Assumption.objects.create(
        conflict=cycle.conflict, arrow="b_d", text="Every record needs every feature"
    )
    cycle.conflict.broken_assumption = broken
    cycle.conflict.save()
    cycle.innovation.patterns = ["cascade", "feature_caching"]
    cycle.innovation.save()
    cycle.experiment.decision = Decision.GO
    cycle.experiment.save()
    OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="p95 latency", before=4.2, after=0.28, unit="s"
    )

    response = personas.viewer.get(HISTORY)

    assert response.status_code == 200
    [listed] = response.context["page"].object_list
    summary = listed.summary
    assert summary.constraint == "Features"
    assert summary.root_cause == "Stale reference data"
    assert summary.broken_assumption == "Every record needs every feature"
    assert summary.innovation == "Cascade filtering + Feature caching"
    assert summary.decision == "Go"
    assert summary.results == ["p95 latency 4.2 s → 0.28 s, 15× faster"]
    content = response.content.decode()
    for text in ("Features", "Stale reference data", "15× faster"):
        assert text in content
    assert f"{HISTORY}1/retrospective/" in content


def test_missing_links_say_what_is_missing(personas, cycle) -> None:
    summary = personas.viewer.get(HISTORY).context["page"].object_list[0].summary
    assert (summary.root_cause, summary.decision, summary.results) == ("", "", [])
    content = personas.viewer.get(HISTORY).content.decode()
    assert "not decided" in content
    assert "not measured" in content


def test_no_cycles_has_its_own_empty_state(personas) -> None:
    response = personas.teammate.get(HISTORY)
    content = response.content.decode()
    assert "No cycles yet." in content
    assert "No cycle matches" not in content
    assert 'name="status"' not in content  # nothing to filter yet
    assert "Open a cycle" in content


def test_a_filter_without_match_has_its_own_empty_state(personas, cycle) -> None:
    response = personas.viewer.get(HISTORY, {"status": "closed"})
    content = response.content.decode()
    assert list(response.context["page"].object_list) == []
    assert "No cycle matches these filters." in content
    assert "No cycles yet." not in content
    assert 'href="/systems/fraud/cycles/"' in content  # a way back to all


def test_status_filter(personas) -> None:
    _open(personas, "Done", closed=True)
    _open(personas, "Ongoing")
    for status, titles in (("closed", ["Done"]), ("open", ["Ongoing"])):
        response = personas.viewer.get(HISTORY, {"status": status})
        assert [c.title for c in response.context["page"]] == titles
        assert f'value="{status}" selected' in response.content.decode()


def test_date_filter_keeps_what_was_typed(personas) -> None:
    _open(personas, "Old", days_ago=40)
    _open(personas, "Recent", days_ago=5)
    _open(personas, "Today")
    start = (timezone.now() - timedelta(days=10)).date()
    end = (timezone.now() - timedelta(days=1)).date()

    response = personas.viewer.get(
        HISTORY, {"opened_from": start.isoformat(), "opened_to": end.isoformat()}
    )

    assert [c.title for c in response.context["page"]] == ["Recent"]
    content = response.content.decode()
    assert f'value="{start.isoformat()}"' in content
    assert f'value="{end.isoformat()}"' in content


def test_invalid_dates_show_an_error_by_the_field(personas) -> None:
    _open(personas, "Only one")
    response = personas.viewer.get(
        HISTORY, {"opened_from": "2025-02-30", "status": "open"}
    )
    assert response.status_code == 200
    filters = response.context["filters"]
    assert "opened_from" in filters.errors
    content = response.content.decode()
    # The field names its error as the one describing it, for screen readers.
    assert 'aria-describedby="id_opened_from_error"' in content
    assert 'id="id_opened_from_error"' in content
    assert 'value="2025-02-30"' in content
    # The valid filter still applies.
    assert [c.title for c in response.context["page"]] == ["Only one"]


def test_an_end_before_the_start_is_an_error(personas) -> None:
    response = personas.viewer.get(
        HISTORY, {"opened_from": "2025-03-10", "opened_to": "2025-03-01"}
    )
    assert "opened_to" in response.context["filters"].errors


def test_history_is_paginated_newest_first(personas) -> None:
    for n in range(23):
        _open(personas, f"Cycle {n + 1}")
    first = personas.viewer.get(HISTORY)
    second = personas.viewer.get(HISTORY, {"page": 2})
    assert [c.number for c in first.context["page"]] == list(range(23, 3, -1))
    assert [c.number for c in second.context["page"]] == [3, 2, 1]
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_pages_keep_the_filters(personas) -> None:
    for n in range(21):
        _open(personas, f"Closed {n}", closed=True)
    response = personas.viewer.get(HISTORY, {"status": "closed"})
    assert 'href="?status=closed&amp;page=2"' in response.content.decode()


def test_a_page_past_the_end_shows_the_last(personas, cycle) -> None:
    response = personas.viewer.get(HISTORY, {"page": "99"})
    assert response.status_code == 200
    assert response.context["page"].number == 1


def test_opening_a_cycle_still_works_from_the_history(personas, cycle) -> None:
    cycle_close(cycle=cycle)
    response = personas.teammate.post(HISTORY, {"title": "Next one"})
    assert response.status_code == 302
    assert response["Location"] == f"{HISTORY}2/"


def test_an_invalid_title_keeps_the_history_on_the_page(personas, cycle) -> None:
    response = personas.teammate.post(HISTORY, {"title": ""})
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert [c.number for c in response.context["page"]] == [1]


@pytest.mark.parametrize("query", [{}, {"status": "open"}, {"page": "2"}])
def test_outsider_gets_404(personas, cycle, query) -> None:
    assert personas.outsider.get(HISTORY, query).status_code == 404


def test_titles_are_escaped(personas) -> None:
    _open(personas, "<script>alert(1)</script>")
    content = personas.viewer.get(HISTORY).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;" in content
