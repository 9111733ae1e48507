"""Every lookup from a request goes through the user's team.

An object of a team the user is not in is a 404, so its existence is never
confirmed; a member without the needed role gets a 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from toc.accounts.models import Membership, Role, Team, role_allows


def team_role(request: HttpRequest, team_id: int) -> Role | None:
    if not request.user.is_authenticated:
        return None
    # One membership per user and team: Meta's ordering by username would
    # only add a join with auth_user to every request.
    role = (
        Membership.objects.filter(team_id=team_id, user=request.user)
        .order_by()
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def require_role(role: Role | None, needs: Role, what: str) -> Role:
    if role is None:
        raise Http404(f"No such {what}.")
    if not role_allows(role, needs):
        raise PermissionDenied(f"This needs the {needs.label.lower()} role.")
    return role


def get_team(
    request: HttpRequest, slug: str, *, needs: Role = Role.VIEWER
) -> tuple[Team, Role]:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team, require_role(team_role(request, team.pk), needs, "team")
