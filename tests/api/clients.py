"""API clients of the test personas, each with a personal token."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from toc.accounts.models import ApiToken, Membership, Role


@dataclass
class ApiClients:
    admin: Client
    editor: Client
    viewer: Client
    outsider: Client
    anonymous: Client


def api_clients(personas) -> ApiClients:
    def client(membership: Membership) -> Client:
        token = ApiToken.objects.create(user=membership.user, name="t", expiry=None)[1]
        return Client(headers={"Authorization": f"Bearer {token}"})

    team = Membership.objects.filter(team=personas.team)
    return ApiClients(
        admin=client(team.get(role=Role.ADMIN)),
        editor=client(team.get(role=Role.EDITOR)),
        viewer=client(team.get(role=Role.VIEWER)),
        outsider=client(Membership.objects.exclude(team=personas.team).get()),
        anonymous=Client(),
    )


def send(client: Client, method: str, path: str, body=None, **headers):
    """A JSON request; `headers` such as If_Match="…" become HTTP headers."""
    return getattr(client, method)(
        path,
        body,
        content_type="application/json",
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )
