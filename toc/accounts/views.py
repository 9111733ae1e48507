from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from toc.accounts import services
from toc.accounts.access import get_team
from toc.accounts.forms import (
    InvitationForm,
    MemberAddForm,
    MemberRoleForm,
    SecretNameForm,
    TeamForm,
)
from toc.accounts.models import ApiToken, Membership, Role, Team
from toc.lib import shown_once, unique
from toc.lib.http import AuthenticatedHttpRequest, form_page, read_only


@read_only
@login_required
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    return render(request, "accounts/team_list.html", {"memberships": memberships})


@form_page
@login_required
def team_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    team = unique.saved(
        form,
        lambda: services.team_create(
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            admin=request.user,
        ),
    )
    if team is not None:
        messages.success(request, f"Created team {team.name}; you are its admin.")
        return redirect("accounts:team", slug=team.slug)
    return render(request, "accounts/team_form.html", {"form": form})


@read_only
@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug)
    return team_page(request, team, role)


def invitation_form(team: Team, data=None) -> InvitationForm:
    # Its own ids: the page's member form has a "role" field too.
    return InvitationForm(data, team=team, auto_id="id_invite_%s")


# The session key under which a new invitation's link waits for the page that
# shows it, once, after the redirect that follows its creation.
NEW_INVITATION_LINK = "new_invitation_link"


def team_page(
    request: HttpRequest,
    team: Team,
    role: Role,
    *,
    add_form: MemberAddForm | None = None,
    invite_form: InvitationForm | None = None,
) -> HttpResponse:
    is_admin = role == Role.ADMIN
    context = {
        "team": team,
        "role": role,
        "is_admin": is_admin,
        "memberships": team.memberships.select_related("user"),
        "add_form": add_form or MemberAddForm(team=team),
        "invite_form": invite_form or invitation_form(team),
        "roles": Role.choices,
        "invitation_days": settings.INVITATION_DAYS,
        "invitations": (
            team.invitations.pending().select_related("created_by") if is_admin else []
        ),
        "new_invitation_link": request.session.pop(NEW_INVITATION_LINK, "")
        if is_admin
        else "",
    }
    response = render(request, "accounts/team_detail.html", context)
    if context["new_invitation_link"]:
        # The page carries a link shown once: keep it out of every cache.
        add_never_cache_headers(response)
    return response


@form_page
@login_required
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug, needs=Role.ADMIN)
    form = MemberAddForm(request.POST or None, team=team)
    added = services.member_add(form)
    if added is not None:
        messages.success(request, f"Added {added.user.username} to {team.name}.")
        return redirect("accounts:team", slug=team.slug)
    return team_page(request, team, role, add_form=form)


@require_POST
@login_required
def member_role(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    team, _ = get_team(request, slug, needs=Role.ADMIN)
    membership = (
        team.memberships.select_related("user", "team").filter(pk=member_id).first()
    )
    form = MemberRoleForm(request.POST)
    if membership is None or not form.is_valid():
        messages.error(request, "Choose a member and a valid role.")
        return redirect("accounts:team", slug=team.slug)
    try:
        services.member_role_set(membership, form.cleaned_data["role"])
    except services.LastAdmin as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"{membership.user.username} is now {membership.role}."
        )
    return redirect("accounts:team", slug=team.slug)


@form_page
@login_required
def member_remove(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    team, _ = get_team(request, slug, needs=Role.ADMIN)
    membership = (
        team.memberships.select_related("user", "team").filter(pk=member_id).first()
    )
    if membership is None:
        messages.error(request, "That person is not in this team.")
        return redirect("accounts:team", slug=team.slug)
    if request.method == "POST":
        try:
            services.member_remove(membership)
        except services.LastAdmin as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request, f"Removed {membership.user.username} from {team.name}."
            )
        return redirect("accounts:team", slug=team.slug)
    if services.is_last_admin(membership):
        messages.error(request, str(services.LastAdmin()))
        return redirect("accounts:team", slug=team.slug)
    return render(request, "accounts/member_remove.html", {"membership": membership})


def _tokens_page(request: HttpRequest, form: SecretNameForm) -> HttpResponse:
    response = render(
        request,
        "accounts/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user),
            "form": form,
            "new_secret": shown_once.new_secret(request),
        },
    )
    return shown_once.shown(request, response)


@form_page
@login_required
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SecretNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, secret = ApiToken.objects.create(
            user=request.user, name=form.cleaned_data["name"], expiry=None
        )
        return shown_once.redirect_showing(secret, reverse("tokens"))
    return _tokens_page(request, form)


@form_page
@login_required
def token_revoke(request: AuthenticatedHttpRequest, token_key: str) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user, token_key=token_key).first()
    if token is None:
        raise Http404("No such token.")
    if request.method == "POST":
        token.delete()
        messages.success(request, f"Revoked {token.name}.")
        return redirect("tokens")
    return render(request, "accounts/token_revoke.html", {"token": token})
