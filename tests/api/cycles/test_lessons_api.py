"""The retrospective notes through the API: …/cycles/N/lessons/."""

from __future__ import annotations

from tests.api.clients import send
from tests.api.cycles.conftest import BASE
from toc.api.common import etag
from toc.cycles.forms import NOTE_LENGTH
from toc.cycles.models import RetrospectiveNotes
from toc.cycles.services import cycle_close_and_continue

URL = f"{BASE}/lessons/"
LESSONS = {
    "went_well": "The validation run settled it in a day.",
    "to_change": "Measure the queue first.",
    "actions": "Add a queue alert\nReview tiers monthly",
}


def test_the_notes_exist_from_their_first_put(personas, cycle, editor):
    assert editor.get(URL).status_code == 404
    assert send(editor, "patch", URL, {"actions": "x"}).status_code == 404

    response = send(editor, "put", URL, LESSONS)

    assert response.status_code == 201, response.json()
    assert response.json() == LESSONS
    assert response["ETag"] == etag(LESSONS)
    assert RetrospectiveNotes.objects.get(cycle=cycle).to_change == LESSONS["to_change"]


def test_patch_changes_one_part_and_keeps_the_rest(personas, cycle, editor):
    send(editor, "put", URL, LESSONS)

    response = send(editor, "patch", URL, {"actions": "One action"})

    assert response.status_code == 200
    assert response.json() == {**LESSONS, "actions": "One action"}
    notes = RetrospectiveNotes.objects.get(cycle=cycle)
    assert notes.went_well == LESSONS["went_well"]
    assert notes.history.count() == 2


def test_a_viewer_reads_but_cannot_write(personas, cycle, editor, viewer):
    send(editor, "put", URL, LESSONS)

    assert viewer.get(URL).json() == LESSONS
    response = send(viewer, "patch", URL, {"went_well": "Mine"})
    assert response.status_code == 403
    assert RetrospectiveNotes.objects.get().went_well == LESSONS["went_well"]


def test_another_team_gets_404(personas, cycle, editor, outsider):
    send(editor, "put", URL, LESSONS)

    assert outsider.get(URL).status_code == 404
    assert send(outsider, "put", URL, LESSONS).status_code == 404
    assert RetrospectiveNotes.objects.get().actions == LESSONS["actions"]


def test_too_long_is_refused_naming_the_field(personas, cycle, editor):
    body = {**LESSONS, "to_change": "x" * (NOTE_LENGTH + 1)}

    response = send(editor, "put", URL, body)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "to_change"
    assert str(NOTE_LENGTH) in error["message"]
    assert not RetrospectiveNotes.objects.exists()


def test_the_cycle_links_its_notes(personas, cycle, viewer):
    links = viewer.get(f"{BASE}/").json()["links"]["records"]

    assert links["lessons"] == f"http://testserver{URL}"


def test_the_retrospective_answer_holds_the_notes(personas, cycle, editor, viewer):
    assert viewer.get(f"{BASE}/retrospective/").json()["records"]["lessons"] is None

    send(editor, "put", URL, LESSONS)

    body = viewer.get(f"{BASE}/retrospective/").json()
    assert body["records"]["lessons"] == LESSONS


def test_the_team_writes_them_to_a_closed_cycle(personas, cycle, editor):
    cycle_close_and_continue(cycle=cycle, user=None)

    response = send(editor, "put", URL, LESSONS)

    assert response.status_code == 201, response.json()
    assert RetrospectiveNotes.objects.get(cycle=cycle).went_well
    problem = send(editor, "patch", f"{BASE}/problem/", {"statement": "Later"})
    assert problem.status_code == 403
