"""The registry of cycle records (toc.cycles.records): every kind it declares
reaches each place that walks over kinds, so a new kind cannot be left out of
one. The `filled` cycle has a marked row of every list and a marked field in
every record, written through the API."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from tests.api.clients import token_client
from tests.api.cycles.bodies import VALID_ROWS
from tests.cycles.conftest import BASE
from toc.accounts.models import Role
from toc.cycles.models import Cycle, Experiment
from toc.cycles.records import KINDS, LINKS, RECORDS, ROWS, SAVED, STEPS
from toc.cycles.retro import snapshot_as_of, snapshot_now
from toc.cycles.trail import SOURCES, entries, trail

API = "/api/v1/systems/fraud/cycles/1"
# What each record is written with; the marker goes into a field the
# retrospective and the exports show.
RECORD_BODIES = {
    "constraint": {"stage": "features", "reason": "{marker}"},
    "validation": {
        "stage": "features",
        "capacity_factor": 2,
        "started": "2025-03-01T10:00:00Z",
        "ended": "2025-03-02T10:00:00Z",
        "notes": "{marker}",
    },
    "problem": {"statement": "{marker}"},
    "conflict": {"objective": "{marker}"},
    "innovation": {"summary": "{marker}"},
    "experiment": {"hypothesis": "{marker}"},
    "decision": {"decision": "iterate", "decision_reason": "{marker}"},
    "rollout": {"rollback_rule": "{marker}"},
    "outcome": {"notes": "{marker}"},
    "lessons": {"went_well": "{marker}", "actions": "Ask the on-call"},
}
CYCLE_LISTS = [kind for kind in ROWS.values() if not kind.shared]


def marker(key: str) -> str:
    return f"Marked {key}"


def _json(client, method: str, url: str, body: dict):
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def filled(personas, cycle) -> Cycle:
    editor = personas.teammate
    for key, kind in RECORDS.items():
        body = {
            name: marker(key) if value == "{marker}" else value
            for name, value in RECORD_BODIES[key].items()
        }
        method = "put" if kind.made == SAVED else "patch"
        response = _json(editor, method, f"{API}/{key}/", body)
        assert response.status_code in (200, 201), (key, response.content)
    for kind in CYCLE_LISTS:
        body = {**VALID_ROWS[kind.key], kind.title: marker(kind.key)}
        response = _json(editor, "post", f"{API}/{kind.key}/", body)
        assert response.status_code == 201, (kind.key, response.content)
    return cycle


def test_every_kind_has_what_the_test_writes_it_with() -> None:
    assert set(RECORD_BODIES) == set(RECORDS)
    assert set(VALID_ROWS) == {kind.key for kind in CYCLE_LISTS}
    assert all(kind.title for kind in ROWS.values())


def test_every_kind_has_a_step_and_one_key() -> None:
    keys = [kind.key for kind in KINDS]
    assert len(keys) == len(set(keys))
    assert {kind.step for kind in KINDS} == set(STEPS)


def test_every_record_and_list_is_in_the_trail(personas, filled) -> None:
    assert {kind.model for kind in KINDS} <= {source.model for source in SOURCES}

    changed = {(entry.record, entry.action) for entry in entries(trail(filled))}

    for kind in LINKS:
        made = "created" if kind.made == SAVED else "changed"
        assert (kind.noun, made) in changed, kind.key
    for kind in CYCLE_LISTS:
        assert (kind.trail_noun or kind.bare_noun, "created") in changed, kind.key


def test_every_record_and_list_has_its_api_route(personas, filled) -> None:
    links = personas.viewer.get(f"{API}/").json()["links"]

    assert set(links["records"]) == set(RECORDS)
    assert set(links["lists"]) == {kind.key for kind in CYCLE_LISTS}
    for key in RECORDS:
        body = personas.viewer.get(links["records"][key]).json()
        assert marker(key) in body.values(), key
    for kind in CYCLE_LISTS:
        rows = personas.viewer.get(links["lists"][kind.key]).json()["results"]
        assert marker(kind.key) in [row[kind.title] for row in rows], kind.key


@pytest.mark.parametrize("when", ["now", "as of now"])
def test_the_snapshot_holds_every_record_and_list(personas, filled, when) -> None:
    cycle = Cycle.objects.get()
    if when == "now":
        snapshot = snapshot_now(filled)
    else:
        snapshot = snapshot_as_of(cycle, timezone.now())

    for kind in LINKS:
        assert snapshot.records[kind.link] is not None, kind.key
    for kind in CYCLE_LISTS:
        titles = [getattr(shown.row, kind.title) for shown in snapshot.rows[kind.name]]
        assert marker(kind.key) in titles, kind.key


def test_the_json_export_has_every_record_and_list(personas, filled) -> None:
    data = json.loads(personas.viewer.get(f"{BASE}/export.json").content)

    for key, kind in RECORDS.items():
        section = data[kind.step]
        record = section if kind.link == kind.step else section[key]
        assert marker(key) in record.values(), key
    for kind in CYCLE_LISTS:
        rows = data[kind.step][kind.related_name]
        assert marker(kind.key) in [row[kind.title] for row in rows], kind.key


@pytest.mark.parametrize("page", ["export.md", "retrospective/"])
def test_the_markdown_and_the_retrospective_tell_every_kind(
    personas, filled, page
) -> None:
    text = personas.viewer.get(f"{BASE}/{page}").content.decode()

    for kind in [*RECORDS.values(), *CYCLE_LISTS]:
        assert marker(kind.key) in text, kind.key


@pytest.mark.parametrize("step", STEPS)
def test_every_step_page_has_its_forms_and_lists(personas, filled, step) -> None:
    content = personas.teammate.get(f"{BASE}/{step}/").content.decode()

    for kind in KINDS:
        if kind.step != step:
            continue
        if kind.key in RECORDS:
            assert f'name="form" value="{kind.key}"' in content, kind.key
        else:
            assert f'id="rows-{kind.key}"' in content, kind.key


# Queries of a step page: the session, its user, the system, the membership,
# the cycle and its six lists (11), and what the step reads beside them: the
# goal its forms' stages, the ledger twice (its constraint and the standing)
# and the validation experiment's figures (the stages and four series); the
# problem the constraint's stage and its features. (Before the registry: 25,
# 18, 15, 14, 14, 14 and 17.)
# Each step page also reads its plan (owner, due) and its comments, and the
# system's SLOs (the step strip's goal; the goal step's table once more, and
# the outcome's, whose live SLOs offer their compliance as a row).
STEP_PAGE_QUERIES = {
    "goal": 25,
    "problem": 17,
    "conflict": 16,
    "innovation": 15,
    "experiment": 15,
    "rollout": 15,
    "outcome": 19,
}
# Reading a record through the API: the token, the system, the membership and
# the cycle with the record (12 before the registry); the validation
# experiment's verdict adds its figures.
RECORD_READ_QUERIES = {key: 4 for key in RECORDS} | {"validation": 9}


@pytest.mark.parametrize("step", STEPS)
def test_a_step_page_reads_a_fixed_number_of_queries(
    personas, filled, step, django_assert_max_num_queries
) -> None:
    for kind in CYCLE_LISTS:  # a second row of each list costs nothing more
        _json(personas.teammate, "post", f"{API}/{kind.key}/", VALID_ROWS[kind.key])

    with django_assert_max_num_queries(STEP_PAGE_QUERIES[step]):
        response = personas.viewer.get(f"{BASE}/{step}/")

    assert response.status_code == 200


@pytest.mark.parametrize("key", RECORDS)
def test_reading_a_record_reads_that_record_only(
    personas, filled, key, django_assert_max_num_queries
) -> None:
    viewer = token_client(personas, Role.VIEWER)
    viewer.get(f"{API}/")  # the token's first use writes when it was used

    with django_assert_max_num_queries(RECORD_READ_QUERIES[key]):
        response = viewer.get(f"{API}/{key}/")

    assert response.status_code == 200
    assert marker(key) in response.json().values()


def test_the_decision_shares_the_experiment(personas, filled) -> None:
    experiment = Experiment.objects.get()
    assert experiment.hypothesis == marker("experiment")
    assert experiment.decision_reason == marker("decision")
