"""A client generated from the OpenAPI schema, as a script's author would make
one, drives the exports, the trail, the members and the tokens of a live
server with a personal token.

openapi-python-client writes a function per operation and a model per
schema: an operation missing from the schema is a failed import, a status the
schema does not list raises UnexpectedStatus, and an answer without a field
the schema requires fails to parse. The generator must not warn either, since
a warning means some operation or shape was left out of the client.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.test import Client

from tests.api.clients import token_of, user_of
from tests.conftest import make_personas
from tests.factories import UserFactory
from toc.accounts.models import Membership, Role
from toc.cycles.models import Why
from toc.cycles.services import cycle_open

pytestmark = pytest.mark.django_db(transaction=True)

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "toc_generated_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package, generated once per run from /api/schema/."""
    folder = tmp_path_factory.mktemp("generated-client")
    schema = folder / "schema.json"
    schema.write_bytes(Client().get("/api/schema/", {"format": "json"}).content)
    config = folder / "config.yaml"
    # No formatting: nobody reads it. The OpenSLO bodies are YAML, which the
    # generator has no type for: it passes them as bytes.
    config.write_text(
        "post_hooks: []\n"
        "content_type_overrides:\n"
        "  application/yaml: application/octet-stream\n"
        "  application/x-yaml: application/octet-stream\n"
        "  text/yaml: application/octet-stream\n"
    )
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "warning" not in said.lower(), said
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def operation(generated: ModuleType, tag: str, operation_id: str) -> ModuleType:
    """The generated module of one operation: its sync() and sync_detailed()."""
    return importlib.import_module(f"{generated.__name__}.api.{tag}.{operation_id}")


@pytest.fixture
def world(generated, live_server):
    """Cycle 1 of "fraud" with a why, and the team admin's generated client."""
    personas = make_personas()
    admin = user_of(personas, Role.ADMIN)
    cycle = cycle_open(system=personas.system, title="Features saturate", user=admin)
    Why.objects.create(problem=cycle.problem, position=0, answer="Too many features")
    client = generated.AuthenticatedClient(
        base_url=live_server.url,
        token=token_of(personas, Role.ADMIN),
        raise_on_unexpected_status=True,
    )
    return personas, client


def test_exports_and_the_retrospective(generated, world):
    _, client = world
    models = importlib.import_module(f"{generated.__name__}.models")
    markdown = operation(
        generated, "cycles", "systems_cycles_export_md_retrieve"
    ).sync_detailed("fraud", 1, client=client)
    assert markdown.status_code == 200
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert markdown.parsed.startswith("# Fraud scoring: cycle 1, Features saturate")
    assert "Too many features" in markdown.parsed

    exported = operation(
        generated, "cycles", "systems_cycles_export_json_retrieve"
    ).sync("fraud", 1, client=client)
    assert isinstance(exported, models.CycleExport)
    assert (exported.format_.value, exported.version) == ("toc-cycle", 2)
    assert exported.problem["whys"][0]["answer"] == "Too many features"

    retrospective = operation(
        generated, "cycles", "systems_cycles_retrospective_retrieve"
    )
    now = retrospective.sync_detailed("fraud", 1, client=client)
    assert now.headers["ETag"]
    assert [why.answer for why in now.parsed.lists.whys] == ["Too many features"]
    then = retrospective.sync("fraud", 1, client=client, as_of="2001-01-01")
    assert isinstance(then, models.Error)
    assert "did not exist yet" in then.errors[0].message


def test_the_trail(generated, world):
    _, client = world
    trail = operation(generated, "cycles", "systems_cycles_trail_list").sync(
        "fraud", 1, client=client
    )
    assert trail.count == len(trail.results) > 1
    newest = trail.results[0]
    assert (newest.action.value, newest.record, newest.title) == (
        "created",
        "why",
        "Too many features",
    )
    assert newest.who == ""  # made here, by no one signed in
    assert trail.results == sorted(trail.results, key=lambda e: e.when, reverse=True)


def test_members_and_roles(generated, world):
    personas, client = world
    models = importlib.import_module(f"{generated.__name__}.models")
    team = personas.team.slug

    listed = operation(generated, "teams", "teams_members_list").sync(
        team, client=client
    )
    assert sorted(m.role.value for m in listed.results) == ["admin", "editor", "viewer"]

    newcomer = UserFactory()
    added = operation(generated, "teams", "teams_members_create").sync(
        team,
        client=client,
        body=models.MembershipRequest(
            username=newcomer.username, role=models.RoleEnum.EDITOR
        ),
    )
    assert (added.username, added.role.value) == (newcomer.username, "editor")

    read = operation(generated, "teams", "teams_members_retrieve").sync_detailed(
        team, newcomer.username, client=client
    )
    etag = read.headers["ETag"]
    change = operation(generated, "teams", "teams_members_partial_update")
    promoted = change.sync(
        team,
        newcomer.username,
        client=client,
        body=models.PatchedMemberRoleRequest(role=models.RoleEnum.ADMIN),
        if_match=etag,
    )
    assert promoted.role.value == "admin"
    stale = change.sync_detailed(
        team,
        newcomer.username,
        client=client,
        body=models.PatchedMemberRoleRequest(role=models.RoleEnum.VIEWER),
        if_match=etag,
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Error)

    remove = operation(generated, "teams", "teams_members_destroy")
    assert (
        remove.sync_detailed(team, newcomer.username, client=client).status_code == 204
    )
    me = user_of(personas, Role.ADMIN).username
    last = remove.sync_detailed(team, me, client=client)
    assert last.status_code == 409
    assert "at least one admin" in last.parsed.errors[0].message
    assert not Membership.objects.filter(user=newcomer).exists()


def test_personal_tokens(generated, world, live_server):
    _, client = world
    models = importlib.import_module(f"{generated.__name__}.models")

    made = operation(generated, "tokens", "tokens_create").sync(
        client=client, body=models.ApiTokenRequest(name="generated")
    )
    assert made.token.startswith(made.token_key)
    listed = operation(generated, "tokens", "tokens_list").sync(client=client)
    assert listed.results[0].name == "generated"

    theirs = generated.AuthenticatedClient(
        base_url=live_server.url, token=made.token, raise_on_unexpected_status=True
    )
    revoke = operation(generated, "tokens", "tokens_destroy")
    assert revoke.sync_detailed(made.token_key, client=client).status_code == 204
    refused = operation(generated, "tokens", "tokens_list").sync_detailed(client=theirs)
    assert refused.status_code == 401
