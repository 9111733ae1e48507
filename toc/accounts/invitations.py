"""Inviting people to a team by a one-time link, and joining by it.

A team's admins make an invitation on the team page (or through the API): its
link is mailed to the address and shown to the admin once. Whoever opens the
link joins the team with the invitation's role, signed in or with an account
they make on the spot; the link then works no more, nor after it expires or
is revoked.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from toc.accounts import oidc, services
from toc.accounts.access import get_team
from toc.accounts.forms import JoinForm
from toc.accounts.models import Invitation, InvitationState, Role
from toc.accounts.views import NEW_INVITATION_LINK, invitation_form, team_page
from toc.lib import ratelimit
from toc.lib.http import AuthenticatedHttpRequest, form_page


def invitation_link(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("invitation", args=[secret]))


def invite(request: HttpRequest, invitation: Invitation, secret: str) -> str:
    """Mails the new invitation's link and returns it."""
    link = invitation_link(request, secret)
    services.invitation_mail(invitation, link)
    return link


@form_page
@login_required
def invitation_create(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug, needs=Role.ADMIN)
    form = invitation_form(team, request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation, secret = services.invitation_create(form, created_by=request.user)
        # Shown by the page the redirect leads to, so that a reload there
        # shows the team rather than making a second invitation.
        request.session[NEW_INVITATION_LINK] = invite(request, invitation, secret)
        messages.success(
            request,
            f"Invited {invitation.email} as {invitation.get_role_display().lower()}: "
            "the link is mailed to them.",
        )
        return redirect("accounts:team", slug=team.slug)
    return team_page(request, team, role, invite_form=form)


@form_page
@login_required
def invitation_revoke(
    request: HttpRequest, slug: str, invitation_id: int
) -> HttpResponse:
    team, _ = get_team(request, slug, needs=Role.ADMIN)
    invitation = team.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation in this team.")
    if request.method == "POST":
        try:
            services.invitation_revoke(invitation)
        except services.InvitationGone as gone:
            messages.error(request, f"{gone} Nothing changed.")
        else:
            messages.success(request, f"Revoked the invitation to {invitation.email}.")
        return redirect("accounts:team", slug=team.slug)
    return render(
        request, "accounts/invitation_revoke.html", {"invitation": invitation}
    )


@form_page
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.find(token)
    if invitation is None:
        raise Http404(
            "No such invitation. Check that the whole link was copied, or ask "
            "the team's admin for a new one."
        )
    if invitation.state != InvitationState.PENDING:
        return _gone(request, invitation)
    signed_in = request.user.is_authenticated
    join_form = None if signed_in else JoinForm(request.POST or None)
    if request.method != "POST":
        return _accept_page(request, invitation, join_form)
    try:
        ratelimit.hit_all(
            [("invitation-accept-address", ratelimit.client_network(request))]
        )
    except ratelimit.RateLimited as limited:
        response = _accept_page(
            request,
            invitation,
            join_form,
            status=429,
            refusal="Too many tries to join from this address. "
            f"Try again in {limited.wait_in_words}.",
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    try:
        membership = services.invitation_accept(
            invitation, request.user if signed_in else None, join_form=join_form
        )
    except services.InvitationGone as gone:
        return _gone(request, gone.invitation)
    except services.AlreadyMember:
        return _accept_page(request, invitation, join_form)
    if membership is None:
        return _accept_page(request, invitation, join_form)
    if not signed_in:
        login(request, membership.user)
    messages.success(
        request,
        f"Welcome to {membership.team.name}: you are "
        f"{_a(membership.get_role_display().lower())}.",
    )
    return redirect("accounts:team", slug=membership.team.slug)


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _accept_page(
    request: HttpRequest,
    invitation: Invitation,
    join_form: JoinForm | None,
    *,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    member = (
        invitation.team.memberships.filter(user=request.user).first()
        if request.user.is_authenticated
        else None
    )
    response = render(
        request,
        "accounts/invitation_accept.html",
        {
            "invitation": invitation,
            "role": _a(invitation.get_role_display().lower()),
            "member": member,
            "join_form": join_form,
            "refusal": refusal,
            "here": request.path,
            "sso_provider": oidc.provider_name(),
        },
        status=status,
    )
    # The page's address is the secret: no cache keeps it.
    add_never_cache_headers(response)
    return response


def _gone(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    response = render(
        request,
        "accounts/invitation_gone.html",
        {
            "invitation": invitation,
            "state": invitation.state,
            "states": InvitationState,
        },
        status=410,
    )
    add_never_cache_headers(response)
    return response
