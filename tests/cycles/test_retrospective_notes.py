"""The retrospective notes (what went well, what to change, actions), written on
the retrospective page, to a closed cycle too."""

from __future__ import annotations

import json

import pytest

from tests.cycles.conftest import BASE, open_beside
from toc.cycles.forms import NOTE_LENGTH
from toc.cycles.models import Cycle, RetrospectiveNotes
from toc.cycles.services import cycle_close

RETRO = f"{BASE}/retrospective/"
NOTES = f"{BASE}/retrospective/notes/"
WRITTEN = {
    "lessons-went_well": "The validation run settled the argument in a day.",
    "lessons-to_change": "Measure the queue before choosing the stage.",
    "lessons-actions": "Add a queue alert\n\n  Review tiers monthly  \n",
}


@pytest.fixture
def closed(cycle) -> Cycle:
    cycle_close(cycle=cycle)
    return cycle


def test_the_page_invites_the_team_to_write_them(personas, closed) -> None:
    content = personas.teammate.get(RETRO).content.decode()

    assert "No notes yet. Once the team has looked back on the cycle" in content
    assert f'action="{NOTES}"' in content
    assert 'name="lessons-went_well"' in content


def test_a_member_saves_them_on_a_closed_cycle(personas, closed) -> None:
    response = personas.teammate.post(NOTES, WRITTEN)

    assert response.status_code == 302
    assert response["Location"] == f"{RETRO}#notes"
    notes = RetrospectiveNotes.objects.get(cycle=closed)
    assert notes.went_well == WRITTEN["lessons-went_well"]
    assert notes.action_list == ["Add a queue alert", "Review tiers monthly"]
    closed.refresh_from_db()
    assert closed.status == "closed"
    content = personas.viewer.get(RETRO).content.decode()
    assert "Measure the queue before choosing the stage." in content
    assert "<li>Add a queue alert</li><li>Review tiers monthly</li>" in content
    assert "No notes yet" not in content


def test_an_admin_saves_them_on_an_open_cycle(personas, cycle) -> None:
    response = personas.owner.post(NOTES, WRITTEN)

    assert response.status_code == 302
    assert cycle.lessons.to_change == WRITTEN["lessons-to_change"]


def test_a_second_save_changes_the_same_notes(personas, closed) -> None:
    personas.teammate.post(NOTES, WRITTEN)
    personas.teammate.post(NOTES, {**WRITTEN, "lessons-actions": "One action"})

    notes = RetrospectiveNotes.objects.get(cycle=closed)
    assert notes.action_list == ["One action"]
    assert notes.history.count() == 2


def test_a_viewer_can_read_but_not_write_them(personas, closed) -> None:
    personas.teammate.post(NOTES, WRITTEN)
    page = personas.viewer.get(RETRO).content.decode()

    response = personas.viewer.post(NOTES, {"lessons-went_well": "Overwritten"})

    assert response.status_code == 403
    assert closed.lessons.went_well == WRITTEN["lessons-went_well"]
    assert "The validation run settled the argument in a day." in page
    assert f'action="{NOTES}"' not in page
    assert "No notes yet" not in page


def test_a_viewer_sees_no_invitation_to_write(personas, closed) -> None:
    content = personas.viewer.get(RETRO).content.decode()

    assert "No notes yet." in content
    assert "Once the team has looked back" not in content


def test_another_team_gets_404_and_writes_nothing(personas, closed) -> None:
    response = personas.outsider.post(NOTES, WRITTEN)

    assert response.status_code == 404
    assert not RetrospectiveNotes.objects.exists()


def test_a_get_is_refused(personas, closed) -> None:
    assert personas.teammate.get(NOTES).status_code == 405


def test_the_notes_go_to_the_cycle_the_url_names(personas, cycle) -> None:
    other = open_beside(cycle, "Another")

    personas.teammate.post(
        f"/systems/fraud/cycles/{other.number}/retrospective/notes/", WRITTEN
    )

    assert RetrospectiveNotes.objects.get().cycle == other


def test_too_long_keeps_what_was_typed(personas, closed) -> None:
    typed = {**WRITTEN, "lessons-to_change": "x" * (NOTE_LENGTH + 1)}

    response = personas.teammate.post(NOTES, typed)

    assert response.status_code == 200
    assert not RetrospectiveNotes.objects.exists()
    form = response.context["notes_form"]
    assert list(form.errors) == ["to_change"]
    content = response.content.decode()
    assert "The validation run settled the argument in a day.</textarea>" in content
    assert 'id="id_lessons-to_change_error"' in content
    # The details stay open on the error, so the field is in view.
    assert '<details class="no-print" open>' in content
    # The page around the form is the retrospective, as stored.
    assert "No notes yet." in content
    assert "1 · Goal and constraint" in content


def test_htmx_gets_the_notes_back_in_place(personas, closed) -> None:
    response = personas.teammate.post(NOTES, WRITTEN, headers={"HX-Request": "true"})

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section class="card retro__step" id="notes"')
    assert "Saved the retrospective notes." in content
    assert "<li>Review tiers monthly</li>" in content
    assert "<html" not in content
    assert RetrospectiveNotes.objects.get(cycle=closed).went_well


def test_htmx_with_an_error_keeps_what_was_typed(personas, closed) -> None:
    typed = {**WRITTEN, "lessons-went_well": "y" * (NOTE_LENGTH + 1)}

    response = personas.teammate.post(NOTES, typed, headers={"HX-Request": "true"})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="id_lessons-went_well_error"' in content
    assert "Measure the queue before choosing the stage.</textarea>" in content
    assert "Saved the retrospective notes." not in content
    assert not RetrospectiveNotes.objects.exists()


def test_the_form_works_with_the_keyboard_alone(personas, closed) -> None:
    """Labels name each field and the form opens from a summary, both of which
    a keyboard reaches; nothing needs a pointer."""
    content = personas.teammate.get(RETRO).content.decode()

    for name in ("went_well", "to_change", "actions"):
        assert f'<label for="id_lessons-{name}">' in content
    assert "<summary>Write the notes</summary>" in content


def test_other_writes_to_a_closed_cycle_are_still_refused(personas, closed) -> None:
    response = personas.teammate.post(
        f"{BASE}/outcome/", {"form": "lessons", "lessons-went_well": "Sneaked in"}
    )

    assert response.status_code == 403
    response = personas.teammate.post(
        f"{BASE}/problem/", {"form": "problem", "problem-statement": "Changed"}
    )
    assert response.status_code == 403
    assert not RetrospectiveNotes.objects.exists()


def test_the_outcome_page_offers_the_notes_while_the_cycle_is_open(
    personas, cycle
) -> None:
    response = personas.teammate.post(
        f"{BASE}/outcome/", {"form": "lessons", "lessons-went_well": "Early thoughts"}
    )

    assert response.status_code == 302
    assert cycle.lessons.went_well == "Early thoughts"


def test_as_of_shows_the_notes_then_and_no_form(personas, closed) -> None:
    content = personas.teammate.get(RETRO, {"as_of": "2001-01-01"}).content.decode()
    assert 'name="lessons-went_well"' not in content


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_the_exports_tell_the_notes(personas, closed, fmt) -> None:
    personas.teammate.post(NOTES, WRITTEN)

    content = personas.viewer.get(f"{BASE}/export.{fmt}").content.decode()

    if fmt == "json":
        lessons = json.loads(content)["outcome"]["lessons"]
        assert lessons == {
            "went_well": WRITTEN["lessons-went_well"],
            "to_change": WRITTEN["lessons-to_change"],
            "actions": "Add a queue alert\n\n  Review tiers monthly",  # stripped
        }
        return
    assert "### Retrospective notes" in content
    assert "**What went well:**\n\nThe validation run settled" in content
    assert "**Actions:**\n\n- Add a queue alert\n- Review tiers monthly\n" in content


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_the_exports_say_when_there_are_none(personas, closed, fmt) -> None:
    content = personas.viewer.get(f"{BASE}/export.{fmt}").content.decode()

    if fmt == "json":
        assert json.loads(content)["outcome"]["lessons"] is None
    else:
        assert "### Retrospective notes\n\nNone written." in content


def test_the_trail_tells_who_wrote_them(personas, closed) -> None:
    personas.teammate.post(NOTES, WRITTEN)

    content = personas.viewer.get(f"{BASE}/trail/").content.decode()

    assert "retrospective notes" in content
    assert "Measure the queue before choosing the stage." in content
