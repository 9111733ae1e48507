from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.metrics.samples import steady_pipeline

HTMX = {"HX-Request": "true"}


def test_empty_state_shows_a_curl_example(personas) -> None:
    response = personas.owner.get("/systems/fraud/")
    content = response.content.decode()
    assert "No metrics yet" in content
    assert "curl -X POST http://testserver/api/v1/systems/fraud/samples/" in content
    assert '"stage": "ingest"' in content
    assert 'href="/systems/fraud/keys/"' in content


def test_viewer_empty_state_does_not_offer_keys(personas) -> None:
    response = personas.viewer.get("/systems/fraud/")
    assert b"Ask a team admin for an ingest key" in response.content
    assert b'href="/systems/fraud/keys/"' not in response.content


def test_ledger_marks_the_constraint_and_says_why(personas, with_data) -> None:
    content = personas.viewer.get("/systems/fraud/").content.decode()
    assert "Constraint now" in content
    assert "Features runs at 95% utilization" in content
    row = content[content.index('class="row--constraint') :]
    assert row.index("Features") < row.index("</tr>")
    assert "falling behind" in content


def test_ledger_partial_polls_itself(personas, with_data) -> None:
    response = personas.viewer.get("/systems/fraud/ledger/", headers=HTMX)
    content = response.content.decode().lstrip()
    assert content.startswith('<section id="ledger"')
    assert 'hx-trigger="every 5s"' in content
    assert "<html" not in content


def test_ledger_partial_without_htmx_goes_to_the_page(personas) -> None:
    response = personas.viewer.get("/systems/fraud/ledger/")
    assert response.status_code == 302
    assert response["Location"] == "/systems/fraud/"


def test_constraint_events_are_listed(personas, with_data) -> None:
    content = personas.viewer.get("/systems/fraud/").content.decode()
    assert "— → Features" in content
    assert "became the constraint" in content


def test_what_if_moves_the_constraint(personas, with_data) -> None:
    response = personas.viewer.get(
        "/systems/fraud/what-if/?stage=Features&factor=3", headers=HTMX
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="what-if-result"')
    assert "Features → Ingest" in content or "Features → outside" in content


def test_what_if_speaks_the_cards_words(personas, with_data) -> None:
    response = personas.viewer.get(
        "/systems/fraud/what-if/?stage=Features&factor=3", headers=HTMX
    )
    content = response.content.decode()
    assert (
        "With Features at 3× its capacity, the constraint moves from Features to "
        "outside the pipeline and the ceiling rises from"
    ) in content
    assert "load growth before a stage saturates. Next constraint: " in content
    # The panel's facts carry the card's labels and explanations.
    assert "<dt>Ceiling</dt>" in content
    assert '<span class="muted">load growth before a stage saturates</span>' in content
    assert "<dt>Next constraint</dt>" in content


def test_what_if_without_htmx_renders_the_whole_page(personas, with_data) -> None:
    response = personas.viewer.get("/systems/fraud/what-if/?stage=Features&factor=3")
    assert b"<html" in response.content
    assert response.context["scenario"].after.stage != "Features"
    # The whole page: its time series drawn too, over the default range.
    assert response.context["series_chart"]["data"]
    assert response.context["window"].range_key == "hour"


def test_what_if_rejects_a_bad_factor(personas, with_data) -> None:
    response = personas.viewer.get(
        "/systems/fraud/what-if/?stage=Features&factor=-2", headers=HTMX
    )
    assert b"Factor:" in response.content
    assert response.context["scenario"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/systems/fraud/",
        "/systems/fraud/ledger/",
        "/systems/fraud/what-if/",
        "/systems/fraud/series/?range=day",
    ],
)
def test_outsider_gets_404(personas, path) -> None:
    assert personas.outsider.get(path, headers=HTMX).status_code == 404


def _pipeline(start, minutes: int, busy: dict[str, float], stages=None) -> list:
    return steady_pipeline(
        stages or ["ingest", "features", "inference"], start, minutes, busy
    )


def test_a_live_held_constraint_says_since_when(personas, with_data) -> None:
    content = personas.viewer.get("/systems/fraud/").content.decode()

    assert "verdict--stale" not in content
    assert "Held since" in content
    assert "Emerging" not in content


def test_a_stale_ledger_is_greyed_and_not_called_live(personas, with_stale_data):
    content = personas.viewer.get("/systems/fraud/").content.decode()

    assert "verdict--stale" in content
    assert "No data for 20 min." in content
    assert "not a live reading" in content
    assert "Constraint when data stopped" in content
    assert "Constraint now" not in content


def test_a_new_leader_is_emerging_beside_the_held_constraint(
    personas, post_samples
) -> None:
    start = (timezone.now() - timedelta(minutes=15)).replace(microsecond=0)
    post_samples(_pipeline(start, 12, {"features": 0.95, "inference": 0.9}))
    later = start + timedelta(minutes=12)
    post_samples(_pipeline(later, 3, {"features": 0.4, "inference": 0.97}))

    content = personas.viewer.get("/systems/fraud/").content.decode()

    assert "Constraint now" in content
    assert "Held since" in content
    assert "Emerging: Inference</strong>, leading for" in content
    assert "Features still holds the constraint until Inference has led for 5" in (
        content
    )
    row = content[content.index(">Inference</a> <span") :]
    assert row.index("emerging") < row.index("</tr>")


def test_before_any_move_the_leader_is_emerging(personas, post_samples) -> None:
    start = (timezone.now() - timedelta(minutes=3)).replace(microsecond=0)
    post_samples(_pipeline(start, 3, {"features": 0.95}))

    content = personas.viewer.get("/systems/fraud/").content.decode()

    assert "Emerging constraint" in content
    assert re.search(r"Leading for [0-2] of 5 minutes", content)
    assert "Held since" not in content


def test_a_stage_that_stopped_reporting_is_marked_silent(
    personas, post_samples
) -> None:
    start = (timezone.now() - timedelta(minutes=12)).replace(microsecond=0)
    post_samples(_pipeline(start, 4, {"features": 0.95}))
    post_samples(
        _pipeline(
            start + timedelta(minutes=4),
            8,
            {"features": 0.95},
            stages=["features", "inference"],
        )
    )

    content = personas.viewer.get("/systems/fraud/").content.decode()

    row = content[content.index(">Ingest") :]
    row = row[: row.index("</tr>")]
    assert "silent" in row
    assert "No samples in this window; the last came at" in row
    assert "verdict--stale" not in content


def test_outside_the_pipeline_the_next_constraint_reads_as_in_the_what_if(
    personas, post_samples
) -> None:
    start = (timezone.now() - timedelta(minutes=6)).replace(microsecond=0)
    post_samples(_pipeline(start, 6, {"features": 0.6}))

    content = personas.viewer.get("/systems/fraud/").content.decode()

    assert "No stage limits the pipeline" in content
    facts = content[content.index("<dt>Next constraint</dt>") :]
    facts = " ".join(facts[: facts.index("</div>")].split())
    assert "Features <span" in facts
    assert "the first stage to saturate as load grows" in facts


def test_a_stage_of_people_reads_per_hour_and_its_latency_in_hours(
    personas, post_samples
) -> None:
    personas.system.stages.filter(slug="inference").update(
        kind="human", people=2, items_per_hour=1.33
    )
    start = (timezone.now() - timedelta(minutes=6)).replace(microsecond=0)
    samples = _pipeline(start, 6, {"features": 0.6})
    for each in samples:
        if each["stage"] == "inference":
            each.pop("capacity")
            each.update(throughput=2.66 / 3600, latency_p95_ms=8 * 3600 * 1000)
    post_samples(samples)

    content = personas.viewer.get("/systems/fraud/").content.decode()

    row = content[content.index(">Inference") :]
    row = row[: row.index("</tr>")]
    assert row.count(">2.7/h</td>") == 2
    assert ">8 h</td>" in row
