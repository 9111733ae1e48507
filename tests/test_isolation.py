"""Isolation and roles, walked over every route the URL conf has.

Every HTML and API route is requested by the owner (admin), editor, viewer,
outsider (admin of another team) and an anonymous visitor, with safe and unsafe
methods. The routes come from the resolver, so a route added later is walked
too; only its URL arguments need a value here, and an unknown argument fails
the test rather than skipping the route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.factories import ApiTokenFactory, IngestKeyFactory, InvitationFactory
from toc.accounts.models import ApiToken, Invitation, Membership, Role
from toc.cycles.models import (
    Assumption,
    Criterion,
    Cycle,
    OutcomeRow,
    RetrospectiveNotes,
    RolloutPhase,
    Tier,
    ValidationExperiment,
    Why,
)
from toc.cycles.services import cycle_open
from toc.metrics.models import PrometheusSource
from toc.metrics.prometheus import source_configure
from toc.notifications import sealed
from toc.notifications.models import ChatChannel, Webhook
from toc.systems.models import Feature, IngestKey, Slo, Stage, System

METHODS = ("get", "post", "put", "patch", "delete")
UNSAFE = METHODS[1:]
# Open to anyone by design: the home page's redirect, logging in, the health
# check and the API's schema and docs (they describe the API, not anyone's data).
PUBLIC = {
    "",
    "accounts/login/",
    "healthz",
    "api/schema/",
    "api/docs/",
    # Asking for a password reset and following the mailed link.
    "account/password/reset/",
    "account/password/reset/sent/",
    "account/password/reset/<uidb64>/<token>/",
    "account/password/reset/done/",
    # An invitation's link: its holder need not have an account yet.
    "invitations/<slug:token>/",
    # Single sign-on's start and return (404 while it is off).
    "accounts/sso/",
    "accounts/sso/callback/",
}
# A person's own things, or creating in one of their teams (which team is a
# choice checked against their roles): any signed-in user may post here.
PERSONAL = {
    "accounts/logout/",
    "account/password/",
    "account/tokens/",
    "api/v1/tokens/",
    "teams/",
    "teams/new/",
    "systems/",
    "systems/new/",
    "api/v1/systems/",
    # toc's findings for Prometheus: the systems of the token's own teams.
    "api/v1/metrics",
    # Which events a member is mailed: each member's own choice.
    "teams/<slug:slug>/notifications/email/",
}
CALCULATORS = re.compile(r"^api/v1/tools/")
ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")
# Text only team A's records carry; no answer to the outsider may contain it.
MARKERS = ("Fraud scoring", "WHY-MARKER-A")


def routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    # Django's admin has its own staff-only permissions and is not a team's view.
    found = [r for r in walk(get_resolver().url_patterns) if not r.startswith("admin/")]
    # Logging out ends the sessions the walk uses: it goes last.
    return sorted(found, key=lambda route: route == "accounts/logout/")


@dataclass
class World:
    system: System
    cycle: Cycle
    ids: dict[str, int]
    team_slug: str
    viewer_membership: int
    owner_token_key: str
    ingest_key: int
    invitation: int
    webhook: int
    chat: int
    clients: dict[str, Client]
    api: dict[str, Client]


@pytest.fixture
def world(personas) -> World:
    team = personas.team
    owner = Membership.objects.get(team=team, role=Role.ADMIN).user
    cycle = cycle_open(system=personas.system, title="Walk", user=owner)
    cycle.constraint.stage = "ingest"
    cycle.constraint.save()
    # The links a cycle has only once someone records them.
    RetrospectiveNotes.objects.create(cycle=cycle, went_well="x")
    ValidationExperiment.objects.create(
        cycle=cycle,
        stage="ingest",
        capacity_factor=3,
        started=timezone.now() - timedelta(days=2),
        ended=timezone.now() - timedelta(days=1),
    )
    stage = Stage.objects.get(system=personas.system, slug="ingest")
    rows = {
        "whys": Why.objects.create(
            problem=cycle.problem, position=0, answer="WHY-MARKER-A"
        ),
        "assumptions": Assumption.objects.create(
            conflict=cycle.conflict, arrow="b_d", text="One model for all"
        ),
        "tiers": Tier.objects.create(
            innovation=cycle.innovation,
            position=0,
            name="T1",
            traffic_share=1,
            latency_ms=3,
        ),
        "criteria": Criterion.objects.create(
            experiment=cycle.experiment, metric="p95", comparator="<=", threshold=5
        ),
        "outcome-rows": OutcomeRow.objects.create(
            outcome=cycle.outcome, metric="p95", before=47, after=3
        ),
        "features": Feature.objects.create(
            stage=stage, name="amount", importance=1, compute_cost=1
        ),
        "slos": personas.system.slos.first(),
        "phases": RolloutPhase.objects.filter(rollout=cycle.rollout).first(),
    }
    source_configure(
        system=personas.system, url="http://127.0.0.1:9", interval_s=60, queries={}
    )
    webhook, _ = Webhook.issue(
        team=team, url="https://hooks.example.com/walk", events=["constraint.moved"]
    )
    chat = ChatChannel.objects.create(
        team=team,
        sealed_url=sealed.seal("json://127.0.0.1:9/"),
        shown="json://127.0.0.1:9/",
        events=["constraint.moved"],
    )
    key = IngestKeyFactory(system=personas.system, name="walk")
    invitation = InvitationFactory(team=team, created_by=owner)
    owner_token = ApiTokenFactory(user=owner, name="walk")

    def api_client(member: Membership) -> Client:
        token = ApiTokenFactory(user=member.user, name="t").plaintext
        return Client(headers={"Authorization": f"Bearer {token}"})

    members = Membership.objects.filter(team=team)

    return World(
        system=personas.system,
        cycle=cycle,
        ids={kind: row.pk for kind, row in rows.items()},
        team_slug=team.slug,
        viewer_membership=Membership.objects.get(team=team, role=Role.VIEWER).pk,
        owner_token_key=owner_token.token_key,
        ingest_key=key.pk,
        invitation=invitation.pk,
        webhook=webhook.pk,
        chat=chat.pk,
        clients={
            "owner": personas.owner,
            "editor": personas.teammate,
            "viewer": personas.viewer,
            "outsider": personas.outsider,
            "anonymous": Client(),
        },
        api={
            "owner": api_client(members.get(role=Role.ADMIN)),
            "editor": api_client(members.get(role=Role.EDITOR)),
            "viewer": api_client(members.get(role=Role.VIEWER)),
            "outsider": api_client(Membership.objects.exclude(team=team).get()),
            "anonymous": Client(),
        },
    )


def url_of(route: str, world: World) -> str:
    """The route with team A's objects filled in."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        before = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        values = {
            "slug": (
                world.team_slug
                if route.startswith(("teams/", "api/v1/teams/"))
                else world.system.slug
            ),
            "number": world.cycle.number,
            "stage": "ingest",
            "stage_slug": "ingest",
            "member_id": world.viewer_membership,
            "token_key": world.owner_token_key,
            "key_id": world.ingest_key,
            "invitation_id": world.invitation,
            "webhook_id": world.webhook,
            "chat_id": world.chat,
            "fmt": "md",
            "key": "whys",
            "step": "goal",
            "username": Membership.objects.get(
                pk=world.viewer_membership
            ).user.username,
            # A reset link that is not valid: its page says so to anyone.
            "uidb64": "MQ",
            "token": "set-password",
            # A row of the list the path names, or a why on the browser's routes.
            "pk": world.ids.get(before, world.ids["whys"]),
        }
        assert name in values, (
            f"{route}: give <{name}> a value in tests/test_isolation.py"
        )
        return str(values[name])

    return "/" + ARGUMENT.sub(value, route)


def is_api(route: str) -> bool:
    return route.startswith("api/v1/")


def has_objects(route: str) -> bool:
    return bool(ARGUMENT.search(route))


def send(client: Client, method: str, url: str, api: bool):
    if api:
        return getattr(client, method)(url, {}, content_type="application/json")
    return getattr(client, method)(url, {} if method != "get" else None)


def snapshot() -> tuple:
    """What a forbidden write could have changed."""
    return (
        System.objects.count(),
        Stage.objects.count(),
        Cycle.objects.count(),
        list(Cycle.objects.values_list("status", "title")),
        Why.objects.count(),
        list(Slo.objects.values_list("target", "position").order_by("pk")),
        Feature.objects.count(),
        IngestKey.objects.filter(revoked_at__isnull=True).count(),
        list(Membership.objects.values_list("role", flat=True).order_by("pk")),
        ApiToken.objects.count(),
        list(Invitation.objects.values_list("revoked_at", "accepted_at")),
        list(System.objects.values_list("name", "team_id").order_by("pk")),
        list(PrometheusSource.objects.values_list("url", "interval_s")),
        Webhook.objects.count(),
        ChatChannel.objects.count(),
    )


def test_every_route_keeps_teams_apart_and_roles_apart(world):
    walked = routes()
    assert len(walked) > 80
    before = snapshot()
    problems = []
    counted = 0
    for route in walked:
        url = url_of(route, world)
        api = is_api(route)
        clients = world.api if api else world.clients
        for persona in ("anonymous", "outsider", "viewer", "editor", "owner"):
            for method in (
                METHODS if persona in ("anonymous", "outsider", "viewer") else ("get",)
            ):
                response = send(clients[persona], method, url, api)
                counted += 1
                problem = _judge(route, persona, method, response)
                if problem:
                    problems.append(f"{method.upper()} {url} as {persona}: {problem}")
    assert problems == [], "\n".join(problems)
    assert snapshot() == before
    print(f"isolation walk: {len(walked)} routes, {counted} requests")


def _judge(route: str, persona: str, method: str, response) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    # A method the route does not offer says nothing about any object.
    if route in PUBLIC or status == 405:
        return None
    api = is_api(route)
    if persona == "anonymous":
        if api:
            return None if status == 401 else f"expected 401, got {status}"
        if status == 302 and response.url.startswith("/accounts/login/"):
            return None
        return f"expected a redirect to log in, got {status}"
    if persona == "outsider":
        if has_objects(route):
            return None if status == 404 else f"expected 404, got {status}"
        if method == "get" and status == 200:
            body = response.content.decode()
            leaked = [m for m in MARKERS if m in body]
            return f"lists another team's {leaked}" if leaked else None
        return None
    if persona == "viewer" and method in UNSAFE:
        if route in PERSONAL or CALCULATORS.match(route):
            return None
        if "<slug:token_key>" in route:  # the owner's token: not the viewer's to see
            return None if status == 404 else f"expected 404, got {status}"
        return None if status == 403 else f"a viewer wrote? got {status}"
    # Team members reading: every object exists, so never a 404.
    if status == 404:
        if "<slug:token_key>" in route and persona != "owner":
            return None
        return "404 for a member of the team"
    return None


def test_removing_a_member_takes_effect_on_their_next_request(world):
    viewer = Membership.objects.get(pk=world.viewer_membership)
    session, api = world.clients["viewer"], world.api["viewer"]
    assert session.get("/systems/fraud/").status_code == 200
    assert api.get("/api/v1/systems/fraud/").status_code == 200
    response = world.clients["owner"].post(
        f"/teams/{world.team_slug}/members/{viewer.pk}/remove/"
    )
    assert response.status_code == 302
    assert session.get("/systems/fraud/").status_code == 404
    assert api.get("/api/v1/systems/fraud/").status_code == 404
    assert "Fraud scoring" not in session.get("/systems/").content.decode()


def test_no_field_moves_a_system_to_another_team(world, personas):
    other = Membership.objects.exclude(team=personas.team).get().team
    editor, editor_api = world.clients["editor"], world.api["editor"]
    editor.post("/systems/fraud/edit/", {"name": "Fraud scoring", "team": other.pk})
    patch = editor_api.patch(
        "/api/v1/systems/fraud/", {"team": other.slug}, content_type="application/json"
    )
    assert patch.status_code == 400
    created = editor_api.post(
        "/api/v1/systems/",
        {"team": other.slug, "name": "Planted", "slug": "planted"},
        content_type="application/json",
    )
    assert created.status_code == 400
    assert System.objects.get(slug="fraud").team == personas.team
    assert not System.objects.filter(slug="planted").exists()


def test_an_editor_cannot_raise_their_own_role(world, personas):
    editor = Membership.objects.get(team=personas.team, role=Role.EDITOR)
    response = world.clients["editor"].post(
        f"/teams/{world.team_slug}/members/{editor.pk}/role/", {"role": Role.ADMIN}
    )
    assert response.status_code == 403
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR
