from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.dashboard.test_charts import figure
from tests.factories import StageFactory
from tests.metrics.samples import sample
from toc.cycles.services import cycle_close, cycle_open
from toc.systems.models import Feature

PAGE = "/systems/fraud/stages/features/"


def _minutes(start, minutes: int, stage: str = "features", **values) -> list[dict]:
    """A sample every 10 s of ``stage`` for ``minutes`` from ``start``."""
    return [
        sample(stage, start + timedelta(seconds=10 * tick), capacity=1000.0, **values)
        for tick in range(minutes * 6)
    ]


@pytest.fixture
def start():
    return (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)


def test_a_viewer_reads_the_stage_over_the_last_hour(personas, post_samples, start):
    post_samples(_minutes(start, 10, throughput=900.0, utilization=0.9, queue_depth=40))
    response = personas.viewer.get(PAGE)
    assert response.status_code == 200
    content = response.content.decode()
    utilization = figure(content, "chart-utilization")
    values = utilization["data"][0]["y"]
    assert len(values) == 60
    assert [v for v in values if v is not None] == [0.9] * 10
    assert [v for v in figure(content, "chart-queue")["data"][0]["y"] if v] == [40] * 10
    latency = figure(content, "chart-latency")
    assert latency["layout"]["yaxis"]["ticksuffix"] == " ms"
    # Every chart shows the same window, so that they zoom together.
    ranges = {
        tuple(figure(content, f"chart-{name}")["layout"]["xaxis"]["range"])
        for name in ("utilization", "occupancy", "queue", "latency")
    }
    assert len(ranges) == 1
    assert "data-time-window" in content
    # Nothing failed: a sentence instead of an empty chart.
    assert "chart-failures" not in content
    assert "No errors and no dropped items in this range." in content


def test_busy_blocked_and_idle_add_up_to_the_time(personas, post_samples, start):
    post_samples(_minutes(start, 3, throughput=600.0, utilization=0.9, blocked=0.3))
    content = personas.viewer.get(PAGE).content.decode()
    occupancy = figure(content, "chart-occupancy")
    shares = {trace["name"]: trace["y"] for trace in occupancy["data"]}
    assert list(shares) == ["Busy", "Blocked", "Idle"]
    reported = [i for i, v in enumerate(shares["Busy"]) if v is not None]
    assert len(reported) == 3
    assert {shares["Busy"][i] for i in reported} == {0.6}
    assert {shares["Blocked"][i] for i in reported} == {0.3}
    assert {shares["Idle"][i] for i in reported} == {0.1}


def test_failure_modes_and_errors_over_time(personas, post_samples, start):
    timeouts = _minutes(
        start, 2, errors=2, dropped=1, failure_mode="feature store timeout"
    )
    oom = sample("features", start + timedelta(minutes=3), failure_mode="oom")
    post_samples([*timeouts, oom])
    content = personas.viewer.get(PAGE).content.decode()
    failures = figure(content, "chart-failures")
    errors, dropped = failures["data"]
    assert [v for v in errors["y"] if v] == [12, 12]
    assert [v for v in dropped["y"] if v] == [6, 6]
    table = content[content.index('id="failures-title"') :]
    assert table.index("feature store timeout") < table.index("oom")
    assert '<td class="num">12</td>' in table


def test_features_with_their_value_and_pruning_candidates(personas):
    stage = personas.system.stages.get(slug="features")
    Feature.objects.create(stage=stage, name="velocity", importance=8, compute_cost=2)
    Feature.objects.create(stage=stage, name="geo", importance=0.01, compute_cost=5)
    content = personas.viewer.get(PAGE).content.decode()
    features = content[content.index('id="features-title"') :]
    assert features.index("velocity") < features.index("geo")
    assert ">4</td>" in features  # 8 / 2
    assert "pruning candidate" in features


def test_the_cycles_that_chose_the_stage_are_listed(personas):
    first = cycle_open(
        system=personas.system, title="Feature joins", stage="features", why="95%"
    )
    cycle_close(cycle=first)
    cycle_open(system=personas.system, title="Faster model", stage="inference")
    content = personas.viewer.get(PAGE).content.decode()
    cycles = content[content.index('id="cycles-title"') :]
    assert "Cycle 1: Feature joins" in cycles
    assert 'href="/systems/fraud/cycles/1/"' in cycles
    assert "Faster model" not in cycles


def test_a_new_stage_without_samples_says_what_to_send(personas):
    StageFactory(system=personas.system, name="Scoring", slug="scoring")
    content = personas.viewer.get("/systems/fraud/stages/scoring/").content.decode()
    assert "No samples from this stage yet" in content
    assert '"stage": "scoring"' in content
    assert "data-figure" not in content
    assert "No features registered for Scoring" in content
    assert "No improvement cycle has chosen Scoring" in content
    # The system's tabs say where the page belongs.
    assert 'aria-current="page">Stages</a>' in content


def test_another_teams_member_gets_404(personas):
    assert personas.outsider.get(PAGE).status_code == 404
    # Their own system has no such stage either, and says nothing more.
    assert personas.outsider.get("/systems/other/stages/features/").status_code == 404


def test_an_unknown_stage_is_404(personas):
    assert personas.viewer.get("/systems/fraud/stages/nothing/").status_code == 404


def test_signed_out_is_sent_to_log_in(personas, client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_page_reads_with_a_fixed_number_of_queries(
    personas, post_samples, start, django_assert_max_num_queries
):
    stage = personas.system.stages.get(slug="features")
    for number in range(5):
        Feature.objects.create(
            stage=stage, name=f"f{number}", importance=1, compute_cost=1
        )
    for number in range(3):
        cycle = cycle_open(system=personas.system, title=f"c{number}", stage="features")
        cycle_close(cycle=cycle)
    post_samples(_minutes(start, 5, failure_mode="timeout", utilization=0.5))
    with django_assert_max_num_queries(10):
        assert personas.viewer.get(PAGE).status_code == 200


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_range_of_ones_own_from_the_query_string(personas, post_samples, start):
    post_samples(_minutes(start, 10, utilization=0.9))
    since = start - timedelta(hours=1)
    until = start + timedelta(hours=1)
    query = f"from={since:%Y-%m-%dT%H:%M:%S}&to={until:%Y-%m-%dT%H:%M:%S}"
    response = personas.viewer.get(f"{PAGE}?{query}")
    window = response.context["window"]
    assert (window.start, window.end) == (since, until)
    assert window.range_key is None
    assert window.query == query  # what a link to it carries
    content = response.content.decode()
    utilization = figure(content, "chart-utilization")
    assert len(utilization["data"][0]["y"]) == 120  # minutes: 120 points fit
    assert utilization["layout"]["xaxis"]["range"] == [
        f"{since:%Y-%m-%d %H:%M:%S}",
        f"{until:%Y-%m-%d %H:%M:%S}",
    ]
    # The form holds the range, and no tab claims it.
    assert f'value="{since:%Y-%m-%dT%H:%M:%S}"' in content
    assert 'aria-current="page">Hour<' not in content


def test_a_long_range_is_bucketed_to_a_few_hundred_points(personas):
    response = personas.viewer.get(f"{PAGE}?from=2026-11-01T00:00&to=2026-11-08T00:00")
    window = response.context["window"]
    assert (window.bucket_s, window.bucket_label) == (1800, "30 min")


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ("from=2026-11-01T10:00", "to", "Give the end of the range too."),
        ("to=2026-11-01T10:00", "from", "Give the start of the range too."),
        (
            "from=2026-11-01T10:00&to=2026-11-01T09:00",
            "to",
            "Choose an end after the start.",
        ),
        (
            "from=yesterday&to=2026-11-01T09:00",
            "from",
            "Enter a date and time, such as 2026-12-06 14:30.",
        ),
        (
            "from=2026-01-01T00:00&to=2026-11-01T00:00",
            "from",
            "Choose a range of at most 92 days.",
        ),
    ],
)
def test_a_bad_range_is_named_next_to_its_field(personas, query, field, error):
    response = personas.viewer.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    content = response.content.decode()
    assert f'<p class="field__error" id="id_{field}_error">{error}</p>' in content
    # What was typed stays, and the charts show the last hour meanwhile.
    typed = query.split("&")[0].split("=")[1]
    assert f'value="{typed}"' in content
    assert response.context["window"].range_key == "hour"
    assert '<details class="window-form" open>' in content
