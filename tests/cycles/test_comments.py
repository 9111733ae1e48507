"""Comments on a cycle's steps: editors post, with @mentions of their team;
viewers read; another team sees nothing."""

from __future__ import annotations

from tests.api.clients import user_of
from tests.cycles.conftest import BASE
from toc.accounts.models import Role
from toc.cycles.models import Comment, Cycle, CycleStatus


def _comment(client, text: str, step: str = "conflict"):
    return client.post(f"{BASE}/{step}/", {"form": "comment", "text": text})


def test_an_editor_comments_and_mentions_a_teammate(personas, cycle) -> None:
    viewer = user_of(personas, Role.VIEWER).username
    response = _comment(personas.teammate, f"@{viewer}, can you check B? @nobody")
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/conflict/#comment-{comment.pk}"
    assert [u.username for u in comment.mentions.all()] == [viewer]
    page = personas.viewer.get(f"{BASE}/conflict/").content.decode()
    assert f'<strong class="mention">@{viewer}</strong>, can you check B? @nobody' in (
        page
    )
    author = user_of(personas, Role.EDITOR).username
    assert f"<strong>{author}</strong>" in page


def test_a_mention_of_another_teams_member_stays_text(personas, cycle) -> None:
    stranger = user_of(personas, None).username
    _comment(personas.teammate, f"Ask @{stranger}.")
    assert not Comment.objects.get().mentions.exists()
    page = personas.viewer.get(f"{BASE}/conflict/").content.decode()
    assert f"Ask @{stranger}." in page
    assert 'class="mention"' not in page


def test_a_comment_is_escaped(personas, cycle) -> None:
    _comment(personas.teammate, "<script>alert(1)</script> & @<b>")
    page = personas.viewer.get(f"{BASE}/conflict/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; @&lt;b&gt;" in page


def test_comments_stay_with_their_step(personas, cycle) -> None:
    _comment(personas.teammate, "About the cloud")
    assert (
        "About the cloud" in personas.viewer.get(f"{BASE}/conflict/").content.decode()
    )
    assert (
        "About the cloud" not in personas.viewer.get(f"{BASE}/goal/").content.decode()
    )


def test_an_empty_comment_is_refused_with_a_reason(personas, cycle) -> None:
    response = _comment(personas.teammate, "   ")
    assert response.status_code == 200
    assert "Write something before posting." in response.content.decode()
    assert not Comment.objects.exists()


def test_a_viewer_reads_comments_but_cannot_post(personas, cycle) -> None:
    page = personas.viewer.get(f"{BASE}/conflict/").content.decode()
    assert "No comments on this step yet." in page
    assert 'value="comment"' not in page
    assert _comment(personas.viewer, "Me too").status_code == 403
    assert not Comment.objects.exists()


def test_another_team_cannot_read_or_post_comments(personas, cycle) -> None:
    _comment(personas.teammate, "Team only")
    assert personas.outsider.get(f"{BASE}/conflict/").status_code == 404
    assert _comment(personas.outsider, "Hello").status_code == 404
    assert Comment.objects.count() == 1


def test_a_closed_cycle_takes_no_comments(personas, cycle) -> None:
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    assert _comment(personas.teammate, "Late").status_code == 403
    assert not Comment.objects.exists()
