"""The retrospective's charts of the constraint stage, before and during the cycle."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.cycles.conftest import BASE
from tests.metrics.samples import sample
from toc.cycles.models import Cycle, Decision
from toc.cycles.records import cycle_with_links
from toc.cycles.retro import constraint_around
from toc.cycles.services import cycle_close

RETRO = f"{BASE}/retrospective/"


@pytest.fixture
def on_features(cycle) -> Cycle:
    choice = cycle.constraint
    choice.stage, choice.stage_name = "features", "Features"
    choice.save()
    return cycle


@pytest.fixture
def reported(post_samples, on_features) -> Cycle:
    """Features posted for the last half hour, saturated with a long queue."""
    now = timezone.now().replace(second=0, microsecond=0)
    samples = [
        sample(
            "features",
            now - timedelta(minutes=minute),
            utilization=0.97,
            queue_depth=1_200,
            latency_p95_ms=4_200.0,
        )
        for minute in range(1, 31)
    ]
    assert post_samples(samples).status_code == 202
    return on_features


def _figure(content: str, chart: str) -> dict:
    start = content.index(f'id="chart-{chart}-figure"')
    text = content[content.index(">", start) + 1 : content.index("</script>", start)]
    return json.loads(text)


def test_the_constraint_stage_is_drawn_before_and_during(personas, reported) -> None:
    response = personas.viewer.get(RETRO)

    content = response.content.decode()
    # The day before the cycle had no samples: the charts start with the first.
    shown = response.context["constraint"]
    assert timezone.now() - shown.start < timedelta(minutes=36)
    assert shown.start < reported.created
    assert "The constraint stage, before and after" in content
    assert 'href="/systems/fraud/stages/features/"' in content
    assert "the shaded part is before the cycle opened" in content
    assert "Dashed lines: Opened (" in content
    for chart in ("utilization", "queue", "latency"):
        assert f'id="chart-{chart}"' in content
    utilization = _figure(content, "utilization")
    assert 0.97 in utilization["data"][0]["y"]
    labels = [label["text"] for label in utilization["layout"]["annotations"]]
    assert labels == ["Before", "Opened"]
    assert 1200 in _figure(content, "queue")["data"][0]["y"]
    assert "plotly-basic.min.js" in content


def test_no_samples_is_said_in_words(personas, on_features) -> None:
    content = personas.viewer.get(RETRO).content.decode()

    assert "No samples from Features between" in content
    assert "nothing to compare before and after" in content
    assert 'id="chart-utilization"' not in content
    assert "plotly-basic.min.js" not in content


def test_no_stage_chosen_is_said_in_words(personas, cycle) -> None:
    content = personas.viewer.get(RETRO).content.decode()

    assert "No stage to show: the cycle chose no constraint" in content
    assert 'id="chart-utilization"' not in content


def test_a_closed_cycle_marks_its_decision_and_close(personas, reported) -> None:
    experiment = reported.experiment
    experiment.decision = Decision.GO
    experiment.decided_at = timezone.now() - timedelta(minutes=5)
    experiment.save()
    cycle_close(cycle=reported)

    content = personas.viewer.get(RETRO).content.decode()

    labels = _figure(content, "utilization")["layout"]["annotations"]
    assert [label["text"] for label in labels] == [
        "Before",
        "Opened",
        "Decided: Go",
        "Closed",
    ]


def _around(cycle: Cycle, now):
    cycle = cycle_with_links(Cycle.objects.filter(pk=cycle.pk)).get()
    return constraint_around(cycle, now)


@pytest.mark.parametrize(
    ("ran", "before"),
    [
        (timedelta(minutes=5), timedelta(days=1)),  # a day at least
        (timedelta(days=3), timedelta(days=3)),  # as long again as it ran
        (timedelta(days=50), timedelta(days=30)),  # a month at most
    ],
)
def test_the_window_reaches_back_as_long_again_as_the_cycle_ran(
    personas, on_features, ran, before
) -> None:
    now = timezone.now()
    Cycle.objects.filter(pk=on_features.pk).update(created=now - ran)

    shown = _around(on_features, now)

    assert shown.end == now
    assert shown.start == now - ran - before
    assert shown.charts is None


def test_a_closed_cycle_ends_its_window_when_it_closed(personas, on_features) -> None:
    now = timezone.now()
    Cycle.objects.filter(pk=on_features.pk).update(
        created=now - timedelta(days=10),
        closed_at=now - timedelta(days=8),
        status="closed",
    )

    shown = _around(on_features, now)

    assert shown.end == now - timedelta(days=8)
    assert shown.start == now - timedelta(days=12)


def test_a_very_long_cycle_shows_its_last_quarter(personas, on_features) -> None:
    now = timezone.now()
    Cycle.objects.filter(pk=on_features.pk).update(created=now - timedelta(days=200))

    shown = _around(on_features, now)

    assert shown.start == now - timedelta(days=92)


def test_a_stage_gone_since_shows_no_chart(personas, on_features) -> None:
    personas.system.stages.get(slug="features").delete()

    assert _around(on_features, timezone.now()) is None
    content = personas.viewer.get(RETRO).content.decode()
    assert "its stage is no longer in the system" in content


# The retrospective page's queries: the session, its user, the system, the
# membership, the cycle with its records (5), its six lists (6), the system's
# SLOs for its goal (2), the stage names (1), who opened it (1), and the
# charts: the stage and its minutes (2).
RETROSPECTIVE_QUERIES = 17


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(RETRO).status_code == 200
    return len(captured)


def test_the_page_reads_a_fixed_number_of_queries(personas, reported) -> None:
    before = _queries(personas.teammate)
    personas.teammate.post(
        f"{BASE}/retrospective/notes/",
        {"lessons-went_well": "Fine", "lessons-actions": "One\nTwo"},
    )
    personas.teammate.get(RETRO)  # the first read after a message clears it

    # Notes add no query; the charts two, whatever their samples.
    assert _queries(personas.teammate) == before <= RETROSPECTIVE_QUERIES
    personas.system.stages.filter(slug="features").update(slug="gone")
    assert _queries(personas.teammate) == before - 1  # no stage, no minutes
