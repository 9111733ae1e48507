from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import (
    ApiTokenFactory,
    IngestKeyFactory,
    StageFactory,
    SystemFactory,
)
from tests.metrics.samples import sample
from toc.accounts.models import Membership, Role
from toc.metrics.ingest import MAX_SAMPLES
from toc.metrics.models import PendingMinute, Rollup, Sample
from toc.systems.models import IngestKey, Stage, StageKind

pytestmark = pytest.mark.both_databases


def test_valid_batch_is_stored_and_acknowledged(post_samples, recent) -> None:
    samples = [
        sample(
            "ingest", recent, utilization=0.5, blocked=0.1, failure_mode="burst loss"
        ),
        sample("features", recent, errors=3, dropped=1),
    ]
    response = post_samples(samples)
    assert response.status_code == 202
    assert response.json() == {"accepted": 2}
    stored = Sample.objects.get(stage__slug="ingest")
    assert (stored.ts, stored.utilization, stored.blocked) == (recent, 0.5, 0.1)
    assert stored.failure_mode == "burst loss"
    assert Sample.objects.get(stage__slug="features").dropped == 1


def test_stored_values_read_back_exactly(post_samples, recent) -> None:
    # Text a database array or a quoted literal could mangle, and floats whose
    # last digit a rounding on the way would change.
    texts = [
        'say "hi"',
        "back\\slash\\",
        "{braces},commas",
        "NULL",
        "it's",
        "line\nbreak",
        "  ",
        "ünï ☃",
    ]
    floats = [0.1 + 0.2, 1.0000000000000002, 123456789.12345679, 1e-09, 9.99e11]
    samples = [
        sample(
            "ingest",
            recent - timedelta(seconds=index),
            failure_mode=text,
            throughput=floats[index % len(floats)],
            latency_p95_ms=floats[-1 - index % len(floats)],
        )
        for index, text in enumerate(texts)
    ]
    assert post_samples(samples).status_code == 202
    stored = {
        row.failure_mode: (row.throughput, row.latency_p95_ms, row.ts)
        for row in Sample.objects.all()
    }
    assert stored == {
        item["failure_mode"]: (
            item["throughput"],
            item["latency_p95_ms"],
            datetime.fromisoformat(item["ts"]),
        )
        for item in samples
    }


def test_resending_a_batch_does_not_duplicate(post_samples, recent) -> None:
    batch = [sample("ingest", recent), sample("features", recent)]
    assert post_samples(batch).status_code == 202
    assert post_samples(batch).status_code == 202
    assert Sample.objects.count() == 2


def test_duplicates_inside_one_batch_are_stored_once(post_samples, recent) -> None:
    response = post_samples([sample("ingest", recent), sample("ingest", recent)])
    assert response.status_code == 202
    assert Sample.objects.count() == 1


def _future(minutes: int) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


BAD_ITEMS = [
    ("unknown stage", {"stage": "nope"}, "stage"),
    ("missing throughput", {"throughput": None, "_drop": "throughput"}, "throughput"),
    ("negative capacity", {"capacity": -1}, "capacity"),
    ("utilization above one", {"utilization": 1.5}, "utilization"),
    ("blocked below zero", {"blocked": -0.1}, "blocked"),
    ("timestamp without offset", {"ts": "2026-11-01T12:00:00"}, "ts"),
    ("timestamp not a time", {"ts": "yesterday"}, "ts"),
    ("timestamp in the future", {"ts": "FUTURE"}, "ts"),
    ("queue depth not whole", {"queue_depth": 1.5}, "queue_depth"),
    ("queue depth past bigint", {"queue_depth": 2**63}, "queue_depth"),
    ("boolean as a number", {"throughput": True}, "throughput"),
    ("string as a number", {"latency_p95_ms": "12"}, "latency_p95_ms"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("NUL in failure mode", {"failure_mode": "a\x00b"}, "failure_mode"),
    ("overlong failure mode", {"failure_mode": "x" * 201}, "failure_mode"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_ITEMS, ids=[c[0] for c in BAD_ITEMS]
)
def test_a_bad_item_rejects_the_whole_batch(post_samples, recent, case, change, field):
    bad = sample("features", recent)
    change = dict(change)
    if "_drop" in change:
        del bad[change.pop("_drop")]
        change.pop(field)
    if change.get("ts") == "FUTURE":
        change["ts"] = _future(10)
    bad.update(change)
    response = post_samples([sample("ingest", recent), bad])
    assert response.status_code == 400, case
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, field)]
    assert errors[0]["message"]
    assert Sample.objects.count() == 0
    assert PendingMinute.objects.count() == 0


@pytest.fixture
def triage(personas) -> Stage:
    """A stage of people after inference: 4 analysts, 1.5 alerts an hour each."""
    return StageFactory(
        system=personas.system,
        name="Triage",
        slug="triage",
        kind=StageKind.HUMAN,
        people=4,
        items_per_hour=1.5,
    )


@pytest.mark.parametrize("sent", ["left out", "null"])
def test_a_human_stages_sample_may_leave_capacity_to_the_stage(
    post_samples, recent, triage, sent
) -> None:
    human = sample("triage", recent, throughput=0.0015, queue_depth=12)
    if sent == "left out":
        del human["capacity"]
    else:
        human["capacity"] = None
    response = post_samples([sample("ingest", recent), human])
    assert response.status_code == 202, response.json()
    assert Sample.objects.get(stage=triage).capacity == pytest.approx(6 / 3600)
    assert Sample.objects.get(stage__slug="ingest").capacity == 200.0


def test_a_human_stages_own_capacity_is_kept(post_samples, recent, triage) -> None:
    # An absence (an analyst off sick) is the pipeline's to report.
    response = post_samples([sample("triage", recent, capacity=0.001)])
    assert response.status_code == 202
    assert Sample.objects.get(stage=triage).capacity == 0.001


def test_a_machine_stages_sample_without_capacity_is_refused(
    post_samples, recent, triage
) -> None:
    machine = sample("features", recent)
    del machine["capacity"]
    human = sample("triage", recent)
    del human["capacity"]
    response = post_samples([human, machine])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "capacity")]
    assert "only a human stage's samples may leave" in errors[0]["message"]
    assert Sample.objects.count() == 0


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_rejected(post_samples, recent, constant) -> None:
    body = json.dumps({"samples": [sample("ingest", recent)]}).replace(
        '"throughput": 100.0', f'"throughput": {constant}'
    )
    response = post_samples(body)
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["errors"][0]["message"]
    assert Sample.objects.count() == 0


def test_every_error_is_listed(post_samples, recent) -> None:
    response = post_samples(
        [sample("nope", recent), sample("ingest", "bad", capacity=-1)]
    )
    fields = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert fields == {(0, "stage"), (1, "ts"), (1, "capacity")}


def test_a_little_future_is_tolerated_for_clock_skew(post_samples) -> None:
    assert post_samples([sample("ingest", _future(2))]).status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "Malformed JSON"),
        ('{"samples": {}}', "a list of samples"),
        ("[]", "a list of samples"),
        ('{"samples": []}', "no samples"),
        ('{"samples": [1]}', "JSON object"),
    ],
)
def test_malformed_bodies_are_400(post_samples, body, message) -> None:
    response = post_samples(body)
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


def test_too_many_samples_is_400(post_samples, recent) -> None:
    batch = [
        sample("ingest", recent + timedelta(milliseconds=i))
        for i in range(MAX_SAMPLES + 1)
    ]
    response = post_samples(batch)
    assert response.status_code == 400
    assert str(MAX_SAMPLES) in response.json()["errors"][0]["message"]
    assert Sample.objects.count() == 0


def test_oversize_body_is_413_json(post_samples, recent) -> None:
    padding = "x" * (5 * 1024 * 1024)
    body = json.dumps({"samples": [sample("ingest", recent)], "padding": padding})
    response = post_samples(body)
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"].startswith("The body is over")
    assert Sample.objects.count() == 0


def test_late_samples_land_in_their_own_minute(post_samples, recent) -> None:
    later = recent + timedelta(minutes=3)
    post_samples([sample("ingest", later, throughput=50.0)])
    post_samples([sample("ingest", recent, throughput=10.0)])
    rollups = dict(Rollup.objects.values_list("minute", "throughput_sum"))
    assert rollups == {recent: 10.0, later: 50.0}


# Who may post


def test_wrong_key_is_401_with_a_bearer_challenge(post_samples, recent) -> None:
    response = post_samples([sample("ingest", recent)], key="tocik_wrong")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Sample.objects.count() == 0


def test_revoked_key_is_401(post_samples, ingest_key, recent) -> None:
    IngestKey.objects.update(revoked_at=timezone.now())
    response = post_samples([sample("ingest", recent)])
    assert response.status_code == 401


def test_key_of_another_system_is_404(post_samples, personas, recent) -> None:
    other = SystemFactory(team=personas.team, slug="second")
    StageFactory(system=other, slug="ingest")
    other_key = IngestKeyFactory(system=other, name="k").plaintext
    response = post_samples([sample("ingest", recent)], key=other_key)
    assert response.status_code == 404
    assert Sample.objects.count() == 0


def test_no_credentials_is_401(db, personas, recent) -> None:
    response = Client().post(
        "/api/v1/systems/fraud/samples/",
        json.dumps({"samples": [sample("ingest", recent)]}),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def _token_for(personas, role: Role) -> str:
    user = Membership.objects.get(team=personas.team, role=role).user
    return ApiTokenFactory(user=user, name="script").plaintext


def test_editor_token_can_post(post_samples, personas, recent) -> None:
    token = _token_for(personas, Role.EDITOR)
    assert post_samples([sample("ingest", recent)], key=token).status_code == 202


def test_viewer_token_cannot_post(post_samples, personas, recent) -> None:
    token = _token_for(personas, Role.VIEWER)
    assert post_samples([sample("ingest", recent)], key=token).status_code == 403
    assert Sample.objects.count() == 0


def test_outsider_token_gets_404(post_samples, personas, recent) -> None:
    outsider = Membership.objects.exclude(team=personas.team).get().user
    token = ApiTokenFactory(user=outsider, name="x").plaintext
    assert post_samples([sample("ingest", recent)], key=token).status_code == 404


def test_key_is_stored_only_as_a_digest(personas, ingest_key) -> None:
    key = IngestKey.objects.get()
    assert ingest_key.startswith("tocik_")
    assert ingest_key not in (key.digest, key.token_key)
    assert key.token_key == ingest_key[:15]


def test_using_a_key_records_when(post_samples, recent) -> None:
    post_samples([sample("ingest", recent)])
    assert IngestKey.objects.get().last_used is not None
