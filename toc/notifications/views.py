"""A team's notifications page: its webhooks and chat channels (admins), the
deliveries of each webhook, and each member's own choice of mail."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from toc.accounts.access import get_team, require_role
from toc.accounts.models import Role, Team
from toc.lib import shown_once
from toc.lib.http import AuthenticatedHttpRequest, form_page, read_only
from toc.notifications import services
from toc.notifications.forms import ChatChannelForm, EmailChoiceForm, WebhookForm
from toc.notifications.models import ChatChannel, EmailChoice, EventKind, Webhook

# A webhook's page lists this many of its newest deliveries.
DELIVERIES_SHOWN = 50


@read_only
@login_required
def team_notifications(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug)
    return _page(request, team, role)


def _page(
    request: AuthenticatedHttpRequest,
    team: Team,
    role: Role,
    *,
    webhook_form: WebhookForm | None = None,
    chat_form: ChatChannelForm | None = None,
) -> HttpResponse:
    is_admin = role == Role.ADMIN
    membership = team.memberships.get(user=request.user)
    choice = EmailChoice.objects.filter(membership=membership).first()
    context = {
        "team": team,
        "role": role,
        "is_admin": is_admin,
        "kinds": EventKind,
        "webhooks": team.webhooks.all() if is_admin else [],
        "chat_channels": team.chat_channels.all() if is_admin else [],
        "webhook_form": webhook_form or WebhookForm(team=team, auto_id="id_webhook_%s"),
        "chat_form": chat_form or ChatChannelForm(team=team, auto_id="id_chat_%s"),
        "email_form": EmailChoiceForm(
            initial={"events": choice.events if choice else []},
            auto_id="id_email_%s",
        ),
        "new_secret": shown_once.new_secret(request) if is_admin else "",
    }
    response = render(request, "notifications/team.html", context)
    return shown_once.shown(request, response)


def _page_url(team: Team) -> str:
    return reverse("notifications:team", args=[team.slug])


@form_page
@login_required
def webhook_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug, needs=Role.ADMIN)
    if request.method != "POST":
        return redirect(_page_url(team))
    form = WebhookForm(request.POST, team=team, auto_id="id_webhook_%s")
    if not form.is_valid():
        return _page(request, team, role, webhook_form=form)
    _, secret = services.webhook_create(
        team=team,
        url=form.cleaned_data["url"],
        events=form.cleaned_data["events"],
        created_by=request.user,
    )
    return shown_once.redirect_showing(secret, _page_url(team))


def _webhook(request: AuthenticatedHttpRequest, slug: str, webhook_id: int) -> Webhook:
    team, role = get_team(request, slug)
    webhook = team.webhooks.filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook in this team.")
    require_role(role, Role.ADMIN, "webhook")
    return webhook


@form_page
@login_required
def webhook_remove(
    request: AuthenticatedHttpRequest, slug: str, webhook_id: int
) -> HttpResponse:
    webhook = _webhook(request, slug, webhook_id)
    if request.method == "POST":
        webhook.delete()
        messages.success(request, f"Removed the webhook to {webhook.url}.")
        return redirect(_page_url(webhook.team))
    return render(
        request,
        "notifications/remove.html",
        {"team": webhook.team, "what": f"the webhook to {webhook.url}"},
    )


@read_only
@login_required
def webhook_deliveries(
    request: AuthenticatedHttpRequest, slug: str, webhook_id: int
) -> HttpResponse:
    webhook = _webhook(request, slug, webhook_id)
    deliveries = (
        webhook.deliveries.select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-id")[:DELIVERIES_SHOWN]
    )
    return render(
        request,
        "notifications/deliveries.html",
        {"team": webhook.team, "webhook": webhook, "deliveries": deliveries},
    )


@form_page
@login_required
def chat_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, role = get_team(request, slug, needs=Role.ADMIN)
    if request.method != "POST":
        return redirect(_page_url(team))
    form = ChatChannelForm(request.POST, team=team, auto_id="id_chat_%s")
    if not form.is_valid():
        return _page(request, team, role, chat_form=form)
    services.chat_channel_create(
        team=team,
        url=form.cleaned_data["url"],
        shown=form.shown,
        events=form.cleaned_data["events"],
    )
    messages.success(request, f"Events now go to {form.shown}.")
    return redirect(_page_url(team))


@form_page
@login_required
def chat_remove(
    request: AuthenticatedHttpRequest, slug: str, chat_id: int
) -> HttpResponse:
    team, role = get_team(request, slug)
    chat = ChatChannel.objects.filter(team=team, pk=chat_id).first()
    if chat is None:
        raise Http404("No such chat channel in this team.")
    require_role(role, Role.ADMIN, "chat channel")
    if request.method == "POST":
        chat.delete()
        messages.success(request, f"Removed {chat.shown}.")
        return redirect(_page_url(team))
    return render(
        request, "notifications/remove.html", {"team": team, "what": chat.shown}
    )


@require_POST
@login_required
def email_choose(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Any member chooses what they get by mail; only their own choice."""
    team, _ = get_team(request, slug)
    form = EmailChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose among the events listed.")
        return redirect(_page_url(team))
    services.email_choice_set(
        membership=team.memberships.get(user=request.user),
        events=form.cleaned_data["events"],
    )
    chosen = form.cleaned_data["events"]
    if chosen and not request.user.email:
        messages.warning(
            request, "Saved; but your account has no e-mail address to send them to."
        )
    else:
        messages.success(request, f"Saved: {_kinds(chosen)} by mail.")
    return redirect(_page_url(team))


def _kinds(chosen: list[str]) -> str:
    if not chosen:
        return "no events"
    return "1 kind of event" if len(chosen) == 1 else f"{len(chosen)} kinds of event"
