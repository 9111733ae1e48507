"""The API of a step's owner, due date and comments: the step page's rules."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.api.clients import user_of
from tests.api.cycles.conftest import BASE
from toc.accounts.models import Role
from toc.cycles.models import Comment, Cycle, CycleStatus, StepPlan

STEP = f"{BASE}/steps/experiment/"
COMMENTS = f"{STEP}comments/"


def _put(client, url: str, body: dict):
    return client.put(url, json.dumps(body), content_type="application/json")


def _post(client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_editor_sets_the_owner_and_due_date(personas, cycle, editor, viewer):
    owner = user_of(personas, Role.VIEWER).username
    response = _put(editor, STEP, {"owner": owner, "due": "2031-05-04"})
    assert response.status_code == 200, response.content
    expected = {
        "step": "experiment",
        "owner": owner,
        "due": "2031-05-04",
        "overdue": False,
    }
    assert response.json() == expected
    assert viewer.get(STEP).json() == expected
    cleared = _put(editor, STEP, {}).json()  # what a PUT leaves out is null
    assert (cleared["owner"], cleared["due"]) == (None, None)
    assert StepPlan.objects.get().owner is None


def test_the_rollout_is_due_after_its_holds(personas, cycle, viewer):
    plan = viewer.get(f"{BASE}/steps/rollout/").json()
    assert plan["due"] == (cycle.created + timedelta(days=22)).date().isoformat()
    assert plan["owner"] is None


def test_the_owner_must_be_in_the_team(personas, cycle, editor):
    stranger = user_of(personas, None).username
    response = _put(editor, STEP, {"owner": stranger, "due": "2031-01-01"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "owner"
    assert not StepPlan.objects.exists()


def test_a_due_date_must_be_a_date_or_null(personas, cycle, editor):
    for due in ["", "someday"]:
        response = _put(editor, STEP, {"due": due})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "due"


def test_an_overdue_step_says_so(personas, cycle, editor):
    response = _put(editor, STEP, {"owner": None, "due": "2020-01-01"})
    assert response.json()["overdue"] is True


def test_a_viewer_reads_but_cannot_set_the_plan(personas, cycle, viewer):
    assert viewer.get(STEP).status_code == 200
    assert _put(viewer, STEP, {"owner": None, "due": "2031-01-01"}).status_code == 403
    assert not StepPlan.objects.exists()


def test_an_unknown_step_is_404(personas, cycle, editor):
    assert editor.get(f"{BASE}/steps/lunch/").status_code == 404
    assert _post(
        editor, f"{BASE}/steps/lunch/comments/", {"text": "x"}
    ).status_code == (404)


def test_an_editor_comments_with_a_mention(personas, cycle, editor, viewer):
    mentioned = user_of(personas, Role.VIEWER).username
    response = _post(editor, COMMENTS, {"text": f"@{mentioned} and @ghost, look"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["author"] == user_of(personas, Role.EDITOR).username
    assert body["mentions"] == [mentioned]
    listed = viewer.get(COMMENTS).json()["results"]
    assert [c["text"] for c in listed] == [f"@{mentioned} and @ghost, look"]


def test_a_viewer_reads_comments_but_cannot_post(personas, cycle, editor, viewer):
    _post(editor, COMMENTS, {"text": "First"})
    assert viewer.get(COMMENTS).status_code == 200
    assert _post(viewer, COMMENTS, {"text": "Me too"}).status_code == 403
    assert Comment.objects.count() == 1


def test_another_team_gets_404_for_plans_and_comments(
    personas, cycle, editor, outsider
):
    _post(editor, COMMENTS, {"text": "Team only"})
    assert outsider.get(STEP).status_code == 404
    assert _put(outsider, STEP, {"owner": None, "due": None}).status_code == 404
    assert outsider.get(COMMENTS).status_code == 404
    assert _post(outsider, COMMENTS, {"text": "Hi"}).status_code == 404
    assert Comment.objects.count() == 1


def test_an_empty_comment_is_refused(personas, cycle, editor):
    response = _post(editor, COMMENTS, {"text": " "})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "text"


def test_a_closed_cycle_refuses_plans_and_comments(personas, cycle, editor):
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    assert _put(editor, STEP, {"owner": None, "due": None}).status_code == 403
    assert _post(editor, COMMENTS, {"text": "Late"}).status_code == 403
    assert not Comment.objects.exists() and not StepPlan.objects.exists()
