from __future__ import annotations

import pytest

from tests.api.clients import api_clients, send
from toc.systems.models import Feature, IngestKey, Stage, System


@pytest.fixture
def api(personas):
    return api_clients(personas)


# Teams


def test_teams_lists_only_mine_with_my_role(api, personas):
    body = api.viewer.get("/api/v1/teams/").json()
    assert [(t["slug"], t["role"]) for t in body["results"]] == [
        (personas.team.slug, "viewer")
    ]


def test_team_detail_lists_members_and_hides_other_teams(api, personas):
    body = api.editor.get(f"/api/v1/teams/{personas.team.slug}/").json()
    assert body["role"] == "editor"
    assert sorted(m["role"] for m in body["members"]) == ["admin", "editor", "viewer"]
    assert api.outsider.get(f"/api/v1/teams/{personas.team.slug}/").status_code == 404


def test_anonymous_gets_401_with_a_bearer_challenge(api, personas):
    response = api.anonymous.get("/api/v1/teams/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["message"]


# A system


def test_system_detail_has_its_stages_and_an_etag(api):
    response = api.viewer.get("/api/v1/systems/fraud/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["stages"]] == [
        "ingest",
        "features",
        "inference",
    ]
    assert response["ETag"].startswith('"')


def test_editor_renames_a_system_and_the_etag_changes(api):
    before = api.editor.get("/api/v1/systems/fraud/")
    response = send(api.editor, "patch", "/api/v1/systems/fraud/", {"name": "Fraud v2"})
    assert response.status_code == 200
    assert System.objects.get(slug="fraud").name == "Fraud v2"
    assert response.json()["description"] == before.json()["description"]
    assert response["ETag"] != before["ETag"]


def test_a_stale_if_match_is_a_412_and_changes_nothing(api):
    etag = api.editor.get("/api/v1/systems/fraud/")["ETag"]
    send(api.admin, "patch", "/api/v1/systems/fraud/", {"description": "by admin"})
    response = send(
        api.editor, "patch", "/api/v1/systems/fraud/", {"name": "Mine"}, If_Match=etag
    )
    assert response.status_code == 412
    assert "changed after you read it" in response.json()["errors"][0]["message"]
    assert System.objects.get(slug="fraud").name == "Fraud scoring"
    fresh = api.editor.get("/api/v1/systems/fraud/")["ETag"]
    ok = send(
        api.editor, "patch", "/api/v1/systems/fraud/", {"name": "Mine"}, If_Match=fresh
    )
    assert ok.status_code == 200


def test_system_validation_errors_name_the_field_and_write_nothing(api):
    response = send(api.editor, "put", "/api/v1/systems/fraud/", {"name": ""})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    response = send(api.editor, "patch", "/api/v1/systems/fraud/", {"team": "other"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "team"
    assert System.objects.get(slug="fraud").name == "Fraud scoring"


def test_roles_on_a_system(api):
    assert (
        send(api.viewer, "patch", "/api/v1/systems/fraud/", {"name": "x"}).status_code
        == 403
    )
    assert api.editor.delete("/api/v1/systems/fraud/").status_code == 403
    assert api.outsider.get("/api/v1/systems/fraud/").status_code == 404
    assert api.outsider.delete("/api/v1/systems/fraud/").status_code == 404
    assert api.admin.delete("/api/v1/systems/fraud/").status_code == 204
    assert not System.objects.filter(slug="fraud").exists()


# Stages


def test_stages_list_in_pipeline_order_and_paginate(api, personas):
    for n in range(120):
        Stage.objects.create(
            system=personas.system, name=f"Extra {n}", slug=f"x{n}", position=3 + n
        )
    first = api.viewer.get("/api/v1/systems/fraud/stages/").json()
    assert [s["slug"] for s in first["results"][:3]] == [
        "ingest",
        "features",
        "inference",
    ]
    assert len(first["results"]) == 100
    second = api.viewer.get(first["next"]).json()
    assert [s["slug"] for s in second["results"]][-1] == "x119"
    assert second["next"] is None


def test_editor_adds_a_stage_at_the_end_slug_from_the_name(api, personas):
    response = send(
        api.editor, "post", "/api/v1/systems/fraud/stages/", {"name": "Alert Routing"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "alert-routing"
    assert list(personas.system.stages.values_list("slug", flat=True)) == [
        "ingest",
        "features",
        "inference",
        "alert-routing",
    ]


def test_a_duplicate_stage_name_is_refused_with_the_browsers_message(api):
    response = send(
        api.editor, "post", "/api/v1/systems/fraud/stages/", {"name": "Ingest"}
    )
    assert response.status_code == 400
    assert {
        "field": "name",
        "message": "This system already has a stage named “Ingest”.",
    } in response.json()["errors"]
    assert Stage.objects.filter(name="Ingest").count() == 1


def test_unknown_fields_are_refused(api):
    response = send(
        api.editor,
        "post",
        "/api/v1/systems/fraud/stages/",
        {"name": "X", "colour": "red"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "colour"
    assert not Stage.objects.filter(name="X").exists()


def test_stage_edit_move_and_delete(api, personas):
    response = send(
        api.editor,
        "patch",
        "/api/v1/systems/fraud/stages/features/",
        {"unit": "events"},
    )
    assert response.status_code == 200
    assert Stage.objects.get(slug="features").unit == "events"
    moved = send(
        api.editor,
        "post",
        "/api/v1/systems/fraud/stages/inference/move/",
        {"direction": "up"},
    )
    assert [s["slug"] for s in moved.json()] == ["ingest", "inference", "features"]
    bad = send(
        api.editor,
        "post",
        "/api/v1/systems/fraud/stages/ingest/move/",
        {"direction": "sideways"},
    )
    assert bad.status_code == 400
    assert api.editor.delete("/api/v1/systems/fraud/stages/ingest/").status_code == 204
    assert list(personas.system.stages.values_list("slug", "position")) == [
        ("inference", 0),
        ("features", 1),
    ]


def test_stage_roles_and_isolation(api):
    assert (
        send(
            api.viewer, "post", "/api/v1/systems/fraud/stages/", {"name": "V"}
        ).status_code
        == 403
    )
    assert api.viewer.delete("/api/v1/systems/fraud/stages/ingest/").status_code == 403
    assert api.outsider.get("/api/v1/systems/fraud/stages/ingest/").status_code == 404
    assert api.viewer.get("/api/v1/systems/fraud/stages/nope/").status_code == 404


def test_editor_adds_a_stage_of_people_and_reads_its_capacity(api, personas):
    response = send(
        api.editor,
        "post",
        "/api/v1/systems/fraud/stages/",
        {"name": "Triage", "kind": "human", "people": 4, "items_per_hour": 1.5},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["people"], body["items_per_hour"]) == ("human", 4, 1.5)
    assert body["capacity"] == pytest.approx(6 / 3600)
    machine = api.viewer.get("/api/v1/systems/fraud/stages/ingest/").json()
    assert (machine["kind"], machine["people"], machine["capacity"]) == (
        "machine",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "human"}, {"people", "items_per_hour"}),
        ({"kind": "human", "people": 2, "items_per_hour": 0}, {"items_per_hour"}),
        ({"kind": "human", "people": 0, "items_per_hour": 3}, {"people"}),
        ({"people": 2}, {"people"}),
        ({"kind": "robot"}, {"kind"}),
        ({"kind": "human", "people": 2, "items_per_hour": "3"}, {"items_per_hour"}),
        ({"kind": "human", "people": 2**1100, "items_per_hour": 3}, {"people"}),
    ],
    ids=[
        "people without numbers",
        "a pace of zero",
        "nobody",
        "a machine with people",
        "an unknown kind",
        "a pace as text",
        "more people than a float holds",
    ],
)
def test_a_stage_whose_numbers_do_not_fit_its_kind_is_a_400_naming_them(
    api, body, fields
):
    response = send(
        api.editor, "post", "/api/v1/systems/fraud/stages/", {"name": "T", **body}
    )
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == fields
    assert not Stage.objects.filter(name="T").exists()


def test_a_stage_of_people_goes_back_to_a_machine_without_its_numbers(api):
    url = "/api/v1/systems/fraud/stages/features/"
    made_human = send(
        api.editor, "patch", url, {"kind": "human", "people": 3, "items_per_hour": 2}
    )
    assert made_human.status_code == 200, made_human.json()
    kept = send(api.editor, "patch", url, {"kind": "machine"})
    assert kept.status_code == 400
    back = send(
        api.editor,
        "patch",
        url,
        {"kind": "machine", "people": None, "items_per_hour": None},
    )
    assert back.status_code == 200, back.json()
    assert Stage.objects.get(slug="features").known_capacity is None


# Ingest keys


def test_admin_creates_a_key_shown_once_then_only_its_prefix(api, personas):
    created = send(
        api.admin, "post", "/api/v1/systems/fraud/ingest-keys/", {"name": "prod"}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tocik_")
    assert "no-store" in created["Cache-Control"]
    listed = api.admin.get("/api/v1/systems/fraud/ingest-keys/").json()
    assert [k["name"] for k in listed] == ["prod"]
    assert "key" not in listed[0]
    assert key.startswith(listed[0]["token_key"])
    assert IngestKey.find(key).system == personas.system


def test_revoked_key_no_longer_posts(api):
    created = send(
        api.admin, "post", "/api/v1/systems/fraud/ingest-keys/", {"name": "k"}
    ).json()
    assert (
        api.admin.delete(
            f"/api/v1/systems/fraud/ingest-keys/{created['id']}/"
        ).status_code
        == 204
    )
    assert IngestKey.find(created["key"]) is None
    assert (
        api.admin.delete(
            f"/api/v1/systems/fraud/ingest-keys/{created['id']}/"
        ).status_code
        == 404
    )


def test_only_admins_see_and_manage_keys(api):
    assert api.editor.get("/api/v1/systems/fraud/ingest-keys/").status_code == 403
    assert (
        send(
            api.editor, "post", "/api/v1/systems/fraud/ingest-keys/", {"name": "k"}
        ).status_code
        == 403
    )
    assert api.outsider.get("/api/v1/systems/fraud/ingest-keys/").status_code == 404
    assert (
        send(api.admin, "post", "/api/v1/systems/fraud/ingest-keys/", {}).status_code
        == 400
    )
    assert not IngestKey.objects.exists()


# Features


def test_editor_registers_features_and_duplicates_are_refused(api, personas):
    url = "/api/v1/systems/fraud/stages/features/features/"
    created = send(
        api.editor,
        "post",
        url,
        {"name": "amount", "importance": 0.5, "compute_cost": 1},
    )
    assert created.status_code == 201, created.json()
    again = send(
        api.editor, "post", url, {"name": "amount", "importance": 1, "compute_cost": 1}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "name"
    negative = send(
        api.editor, "post", url, {"name": "x", "importance": -1, "compute_cost": 1}
    )
    assert negative.json()["errors"] == [
        {
            "field": "importance",
            "message": "Use a number between 0 and 1,000,000,000,000.",
        }
    ]
    assert list(Feature.objects.values_list("name", flat=True)) == ["amount"]
    assert [f["name"] for f in api.viewer.get(url).json()["results"]] == ["amount"]


def test_feature_edit_conflict_and_delete(api):
    url = "/api/v1/systems/fraud/stages/features/features/"
    feature = send(
        api.editor, "post", url, {"name": "a", "importance": 1, "compute_cost": 1}
    ).json()
    detail = f"{url}{feature['id']}/"
    etag = api.editor.get(detail)["ETag"]
    send(api.admin, "patch", detail, {"importance": 2})
    assert (
        send(
            api.editor, "patch", detail, {"compute_cost": 9}, If_Match=etag
        ).status_code
        == 412
    )
    assert Feature.objects.get().compute_cost == 1
    assert api.viewer.delete(detail).status_code == 403
    assert api.editor.delete(detail).status_code == 204
    assert api.outsider.get(url).status_code == 404
