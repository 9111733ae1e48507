"""API clients of the test personas, each with a personal token."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.test import Client

from tests.factories import ApiTokenFactory
from toc.accounts.models import Membership, Role


@dataclass
class ApiClients:
    admin: Client
    editor: Client
    viewer: Client
    outsider: Client
    anonymous: Client


def api_clients(personas) -> ApiClients:
    return ApiClients(
        admin=token_client(personas, Role.ADMIN),
        editor=token_client(personas, Role.EDITOR),
        viewer=token_client(personas, Role.VIEWER),
        outsider=token_client(personas, None),
        anonymous=Client(),
    )


def user_of(personas, role: Role | None) -> User:
    """The team's member with `role`; None is the outsider (another team's admin)."""
    if role is None:
        return Membership.objects.exclude(team=personas.team).get().user
    return Membership.objects.get(team=personas.team, role=role).user


def token_of(personas, role: Role | None) -> str:
    """A new personal API token of the persona with `role`."""
    user = user_of(personas, role)
    return ApiTokenFactory(user=user, name="t").plaintext


def token_client(personas, role: Role | None) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_of(personas, role)}"})


def send(client: Client, method: str, path: str, body=None, **headers):
    """A JSON request; `headers` such as If_Match="…" become HTTP headers."""
    return getattr(client, method)(
        path,
        body,
        content_type="application/json",
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )
