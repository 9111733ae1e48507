from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ApiTokenFactory, IngestKeyFactory
from tests.metrics.samples import steady_pipeline
from toc.accounts.models import ApiToken, Membership, Role
from toc.metrics.models import ConstraintEvent


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def viewer_token(personas) -> str:
    user = Membership.objects.get(team=personas.team, role=Role.VIEWER).user
    return ApiTokenFactory(user=user, name="notebook").plaintext


def test_ledger_before_any_data_lists_the_stages_empty(personas, viewer_token):
    response = Client().get(
        "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["computed_at"] is None
    assert body["constraint"] is None
    assert [row["stage"] for row in body["stages"]] == [
        "ingest",
        "features",
        "inference",
    ]
    assert all(row["utilization"] is None for row in body["stages"])


@pytest.fixture
def with_data(personas, django_capture_on_commit_callbacks):
    from toc.metrics.ingest import samples_store, validate_batch

    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    samples = steady_pipeline(
        ["ingest", "features", "inference"],
        start,
        10,
        {"features": 0.95},
        growing="features",
    )
    stage_ids = dict(personas.system.stages.values_list("slug", "pk"))
    with django_capture_on_commit_callbacks(execute=True):
        samples_store(
            system=personas.system,
            batch=validate_batch(samples, stage_ids, now=timezone.now()),
        )


def test_ledger_shape(personas, viewer_token, with_data) -> None:
    body = (
        Client()
        .get("/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token))
        .json()
    )
    assert {
        "computed_at",
        "window_s",
        "ceiling",
        "constraint",
        "external_constraint",
        "next_constraint",
        "stages",
    } <= set(body)
    assert set(body["constraint"]) >= {"stage", "headroom", "confidence", "reason"}
    assert body["constraint"]["stage"] == "features"
    assert set(body["next_constraint"]) >= {"stage", "lift"}
    row = body["stages"][1]
    assert set(row) >= {
        "stage",
        "capacity",
        "load",
        "utilization",
        "blocked",
        "latency_p95_ms",
        "queue_depth",
        "queue_trend",
        "backlog_state",
        "drain_time_s",
        "headroom",
        "failure_mode",
    }
    assert row["backlog_state"] == "falling_behind"
    assert row["drain_time_s"] is None


def test_constraint_events_list(personas, viewer_token, with_data) -> None:
    response = Client().get(
        "/api/v1/systems/fraud/constraint-events/", headers=_bearer(viewer_token)
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(e["from_stage"], e["to_stage"]) for e in results] == [(None, "features")]
    assert set(results[0]) == {"at", "from_stage", "to_stage", "reason"}
    assert results[0]["at"].endswith("Z") or "+" in results[0]["at"]


def test_events_are_paginated_newest_first(personas, viewer_token) -> None:
    now = timezone.now()
    for minute in range(150):
        ConstraintEvent.objects.create(
            system=personas.system,
            at=now - timedelta(minutes=minute),
            decided_minute=now,
            to_stage="features",
            reason="r",
        )
    client = Client()
    first = client.get(
        "/api/v1/systems/fraud/constraint-events/", headers=_bearer(viewer_token)
    ).json()
    assert len(first["results"]) == 100
    second = client.get(first["next"], headers=_bearer(viewer_token)).json()
    assert len(second["results"]) == 50
    times = [e["at"] for e in first["results"] + second["results"]]
    assert times == sorted(times, reverse=True)


def test_events_filter_by_time(personas, viewer_token) -> None:
    base = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    for hour in range(5):
        ConstraintEvent.objects.create(
            system=personas.system,
            at=base + timedelta(hours=hour),
            decided_minute=base,
            to_stage="features",
            reason=f"move {hour}",
        )
    response = Client().get(
        "/api/v1/systems/fraud/constraint-events/",
        {"from": "2026-11-01T13:00:00+00:00", "to": "2026-11-01T15:00:00+00:00"},
        headers=_bearer(viewer_token),
    )
    assert [e["reason"] for e in response.json()["results"]] == ["move 2", "move 1"]
    bad = Client().get(
        "/api/v1/systems/fraud/constraint-events/",
        {"from": "yesterday"},
        headers=_bearer(viewer_token),
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "from"


def test_outsider_gets_404_on_reads(personas) -> None:
    outsider = Membership.objects.exclude(team=personas.team).get().user
    token = ApiTokenFactory(user=outsider, name="x").plaintext
    for path in ["ledger", "constraint-events"]:
        response = Client().get(
            f"/api/v1/systems/fraud/{path}/", headers=_bearer(token)
        )
        assert response.status_code == 404
        assert response.json() == {
            "errors": [{"field": None, "message": "No such system."}]
        }


def test_ingest_key_cannot_read(personas) -> None:
    key = IngestKeyFactory(system=personas.system, name="k").plaintext
    response = Client().get("/api/v1/systems/fraud/ledger/", headers=_bearer(key))
    assert response.status_code == 403
    assert (
        "Ingest keys can only post samples" in response.json()["errors"][0]["message"]
    )


def test_anonymous_read_is_401_with_challenge(personas) -> None:
    response = Client().get("/api/v1/systems/fraud/ledger/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_works_for_reads(personas) -> None:
    assert personas.viewer.get("/api/v1/systems/fraud/ledger/").status_code == 200


def test_deleted_token_stops_working(personas, viewer_token) -> None:
    ApiToken.objects.all().delete()
    response = Client().get(
        "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
    )
    assert response.status_code == 401


def test_removed_member_token_loses_access(personas, viewer_token) -> None:
    Membership.objects.filter(team=personas.team, role=Role.VIEWER).delete()
    response = Client().get(
        "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
    )
    assert response.status_code == 404


def test_series_has_a_point_per_minute_per_stage(personas, viewer_token, with_data):
    body = (
        Client()
        .get("/api/v1/systems/fraud/series/", headers=_bearer(viewer_token))
        .json()
    )
    assert body["resolution_s"] == 60
    assert [s["stage"] for s in body["stages"]] == ["ingest", "features", "inference"]
    features = body["stages"][1]
    reported = [i for i, load in enumerate(features["load"]) if load is not None]
    assert len(reported) == 10
    assert all(len(features[m]) == len(body["t"]) for m in ("load", "queue_depth"))
    assert features["utilization"][reported[0]] == pytest.approx(0.95)
    queues = [features["queue_depth"][i] for i in reported]
    assert queues == sorted(queues) and queues[-1] > queues[0]
    minutes = [datetime.fromisoformat(t) for t in body["t"]]
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(minutes))


@pytest.mark.parametrize(
    "query",
    [
        "?from=yesterday",
        "?from=2026-11-01T00:00:00",
        "?from=2026-11-01T00:00:00%2B00:00&to=2026-11-05T00:00:00%2B00:00",
    ],
)
def test_series_rejects_bad_ranges(personas, viewer_token, query) -> None:
    response = Client().get(
        f"/api/v1/systems/fraud/series/{query}", headers=_bearer(viewer_token)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in {"from", "to"}


def test_series_query_shows_in_the_query_log(personas):
    """The series reads its arrays through the driver's own cursor on PostgreSQL;
    it still counts, so query budgets stay honest."""
    with CaptureQueriesContext(connection) as captured:
        response = personas.viewer.get("/api/v1/systems/fraud/series/")
    assert response.status_code == 200
    assert any("metrics_rollup" in query["sql"] for query in captured.captured_queries)


def test_a_token_is_found_in_one_query_and_the_role_without_users(
    personas, viewer_token
):
    """The token's own row and its user, nothing else: knox's lookup read all
    of the user's tokens on every request. The role is read without joining
    the users, as Membership's default ordering would."""
    user = ApiToken.objects.get().user
    for name in ("laptop", "ci"):
        ApiTokenFactory(user=user, name=name)
    with CaptureQueriesContext(connection) as captured:
        response = Client().get(
            "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
        )
    assert response.status_code == 200
    token_queries = [
        query["sql"]
        for query in captured.captured_queries
        if "accounts_apitoken" in query["sql"] and query["sql"].startswith("SELECT")
    ]
    assert len(token_queries) == 1
    membership_queries = [
        query["sql"]
        for query in captured.captured_queries
        if "accounts_membership" in query["sql"]
    ]
    assert membership_queries
    assert not [sql for sql in membership_queries if "auth_user" in sql]


def test_tokens_of_inactive_users_and_expired_tokens_are_refused(
    personas, viewer_token
):
    token = ApiToken.objects.get()
    token.user.is_active = False
    token.user.save()
    inactive = Client().get(
        "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
    )
    assert inactive.status_code == 401

    token.user.is_active = True
    token.user.save()
    ApiToken.objects.filter(pk=token.pk).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    expired = Client().get(
        "/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token)
    )
    assert expired.status_code == 401


def test_ledger_says_how_fresh_it_is(personas, viewer_token, with_data) -> None:
    body = (
        Client()
        .get("/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token))
        .json()
    )

    newest = datetime.fromisoformat(body["last_sample_at"])
    # Ten minutes of samples every 10 s, from 20 minutes ago.
    assert newest == datetime.fromisoformat(body["window_end"])
    assert body["posting_interval_s"] == pytest.approx(10.0)
    assert body["stale_after_s"] == 120.0
    assert body["stale"] is True
    assert body["age_s"] == pytest.approx(
        (timezone.now() - newest).total_seconds(), abs=5
    )
    assert [row["last_sample_at"] for row in body["stages"]] == [
        body["last_sample_at"]
    ] * 3
    assert not any(row["silent"] for row in body["stages"])
    # The held constraint and the verdict agree, and say since when.
    assert body["held"]["stage"] == body["constraint"]["stage"] == "features"
    assert body["constraint"]["held_since"] == body["held"]["since"]
    assert body["emerging"] is None
    assert body["confidence_label"] == body["constraint"]["confidence_label"]


def _ledger_after(personas, viewer_token, samples: list[dict]) -> dict:
    """The ledger API's answer once the samples are stored and processed."""
    from toc.metrics.ingest import samples_store, validate_batch
    from toc.metrics.processing import system_process

    stage_ids = dict(personas.system.stages.values_list("slug", "pk"))
    samples_store(
        system=personas.system,
        batch=validate_batch(samples, stage_ids, now=timezone.now()),
    )
    system_process(system_id=personas.system.pk)
    return (
        Client()
        .get("/api/v1/systems/fraud/ledger/", headers=_bearer(viewer_token))
        .json()
    )


def test_a_ledger_is_fresh_while_samples_keep_coming(personas, viewer_token):
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    samples = steady_pipeline(["ingest", "features"], start, 2, {"features": 0.95})

    body = _ledger_after(personas, viewer_token, samples)

    assert body["stale"] is False
    inference = body["stages"][2]
    assert inference["samples"] == 0
    assert inference["last_sample_at"] is None
    assert inference["silent"] is True


def test_a_pipeline_posting_every_ten_minutes_is_stale_after_thirty(
    personas, viewer_token
) -> None:
    last = timezone.now().replace(microsecond=0) - timedelta(minutes=25)
    samples = [
        sample
        for minutes_before in (50, 40, 30, 20, 10, 0)
        for sample in steady_pipeline(
            ["ingest", "features", "inference"],
            last - timedelta(minutes=minutes_before),
            1,
            {"features": 0.95},
            interval_s=60,
        )
    ]

    body = _ledger_after(personas, viewer_token, samples)

    # One sample per stage in the 5-minute window: the interval is the last gap.
    assert body["posting_interval_s"] == pytest.approx(600.0)
    assert body["stale_after_s"] == pytest.approx(1800.0)
    assert body["stale"] is False
    assert not any(row["silent"] for row in body["stages"])
