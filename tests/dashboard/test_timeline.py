from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.dashboard.test_charts import figure
from toc.accounts.models import Membership, Role
from toc.cycles.services import cycle_open
from toc.metrics.models import ConstraintEvent


def test_empty_state_before_any_constraint_or_cycle(personas):
    response = personas.viewer.get("/systems/fraud/timeline/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Nothing to show yet" in content
    assert "data-figure" not in content
    assert "plotly-basic.min.js" not in content


def test_timeline_shows_the_stage_that_became_the_constraint(personas, with_data):
    content = personas.viewer.get("/systems/fraud/timeline/").content.decode()
    timeline = figure(content, "chart-timeline")
    bars = [t for t in timeline["data"] if t["type"] == "bar"]
    assert [b["name"] for b in bars] == ["Features"]
    (markers,) = [t for t in timeline["data"] if t["name"] == "moves"]
    assert markers["y"] == ["Features"]
    assert timeline["layout"]["yaxis"]["categoryarray"] == [
        "Ingest",
        "Features",
        "Inference",
        "Outside the pipeline",
    ]
    assert (
        "outside the pipeline" not in content.split("<tbody>")[1].split("</tbody>")[0]
    )
    assert "<td>Features</td>" in content


def test_cycles_are_drawn_as_spans_with_their_titles(personas):
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    cycle_open(system=personas.system, title="Cache the features", user=owner)
    content = personas.viewer.get("/systems/fraud/timeline/").content.decode()
    timeline = figure(content, "chart-timeline")
    assert [a["text"] for a in timeline["layout"]["annotations"]] == ["Cycle 1"]
    assert [a["hovertext"] for a in timeline["layout"]["annotations"]] == [
        "Cycle 1: Cache the features"
    ]
    assert "The constraint has not moved yet." in content


def test_moves_are_listed_newest_first_25_a_page(personas):
    start = timezone.now() - timedelta(days=2)
    for n in range(30):
        ConstraintEvent.objects.create(
            system=personas.system,
            at=start + timedelta(minutes=n),
            decided_minute=start + timedelta(minutes=n),
            from_stage="ingest" if n % 2 else "features",
            to_stage="features" if n % 2 else "ingest",
            reason=f"move {n}",
        )
    first = personas.viewer.get("/systems/fraud/timeline/")
    assert [e.reason for e in first.context["moves"]][:2] == ["move 29", "move 28"]
    assert len(first.context["moves"]) == 25
    second = personas.viewer.get("/systems/fraud/timeline/?page=2")
    assert [e.reason for e in second.context["moves"]] == [
        f"move {n}" for n in range(4, -1, -1)
    ]
    # Names, not slugs, in the table.
    assert second.context["moves"][0].to_name == "Ingest"


def test_outsider_gets_404(personas):
    assert personas.outsider.get("/systems/fraud/timeline/").status_code == 404


def test_anonymous_is_sent_to_log_in(client, personas):
    response = client.get("/systems/fraud/timeline/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_the_history_page_opens_with_the_same_timeline(personas):
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    cycle_open(system=personas.system, title="Cache the features", user=owner)
    history = personas.viewer.get("/systems/fraud/cycles/").content.decode()
    timeline = figure(history, "chart-timeline")
    assert timeline["layout"]["annotations"][0]["text"] == "Cycle 1"
    assert timeline["layout"]["annotations"][0]["hovertext"] == (
        "Cycle 1: Cache the features"
    )
    assert 'href="/systems/fraud/timeline/"' in history


def test_an_empty_history_has_no_timeline(personas):
    history = personas.viewer.get("/systems/fraud/cycles/").content.decode()
    assert "chart-timeline" not in history
    assert "plotly-basic.min.js" not in history


def test_the_timeline_says_where_the_constraint_stands_as_the_card_does(
    personas, with_data
):
    content = personas.viewer.get("/systems/fraud/timeline/").content.decode()

    standing = content[content.index('<p class="standing') :]
    standing = " ".join(standing[: standing.index("</p>")].split())
    assert "Now: <strong>Features</strong> holds the constraint since" in standing
    # The same since as the moves list's newest move.
    event = ConstraintEvent.objects.get()
    assert f"since {event.at:%Y-%m-%d %H:%M} UTC" in standing


def test_a_stale_timeline_says_when_the_data_stopped(personas, with_stale_data):
    content = personas.viewer.get("/systems/fraud/timeline/").content.decode()

    standing = content[content.index('<p class="standing') :]
    standing = " ".join(standing[: standing.index("</p>")].split())
    assert "standing--stale" in standing
    assert "No data for 20 min. When the pipeline last posted" in standing
    assert "<strong>Features</strong> held the constraint since" in standing
