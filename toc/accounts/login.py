"""Logging in, on the site's form and the admin's, with one limit on guessing.

Only failed attempts count, in three counters (settings.RATE_LIMITS):

- per address: one place trying many names;
- per name and address: one place guessing one person's password. Reaching it
  refuses that name from that address only, so a stranger cannot lock anyone
  out from where they log in;
- per name: a guess spread over many addresses, with a ceiling far above what
  one address can add.

The limit is checked before the password: a refused attempt checks none. The
name is counted as Django's form normalises it before looking it up (NFKC,
spaces trimmed; the lookup itself is case-sensitive), so every spelling that
logs in as one person counts as that person.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from toc.accounts import oidc
from toc.lib import ratelimit


@dataclass(frozen=True)
class _Attempt:
    name: str  # a digest of the name, as the form normalises it
    address: str

    @classmethod
    def of(cls, request: HttpRequest, form_class: type) -> _Attempt:
        field = form_class(request).fields["username"]
        return cls.named(field.to_python(request.POST.get("username", "")), request)

    @classmethod
    def named(cls, name: str, request: HttpRequest) -> _Attempt:
        # A digest: whatever was typed (spaces, any length) makes a short key.
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        return cls(digest, ratelimit.client_network(request))

    @property
    def this_name_here(self) -> tuple[str, str]:
        return ("login-name-address", f"{self.name}:{self.address}")

    @property
    def counters(self) -> list[tuple[str, str]]:
        return [
            ("login-address", self.address),
            self.this_name_here,
            ("login-name", self.name),
        ]


def failures_forget(request: HttpRequest, username: str) -> None:
    """After a password reset: the name may log in again at once from where
    the reset was made, and the guesses at the old password count no more."""
    attempt = _Attempt.named(username, request)
    ratelimit.forget_all([attempt.this_name_here, ("login-name", attempt.name)])


class LoginView(auth_views.LoginView):
    """Django's login page, under the limit above."""

    attempt: _Attempt

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.attempt = _Attempt.of(request, self.get_form_class())
        try:
            ratelimit.check_all(self.attempt.counters)
        except ratelimit.RateLimited as limited:
            return self._refused(limited)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(sso_provider=oidc.provider_name(), **kwargs)

    def form_valid(self, form) -> HttpResponse:
        # Logging in forgives the name's failures from here: people who share
        # a login and an address do not add up each other's slips.
        ratelimit.forget_all([self.attempt.this_name_here])
        return super().form_valid(form)

    def form_invalid(self, form) -> HttpResponse:
        ratelimit.count_all(self.attempt.counters)
        return super().form_invalid(form)

    def _refused(self, limited: ratelimit.RateLimited) -> HttpResponse:
        # Unbound, keeping the name typed: a bound form would check the
        # password while rendering its errors, which is what the limit stops.
        form = self.get_form_class()(
            self.request, initial={"username": self.request.POST.get("username", "")}
        )
        form.errors[NON_FIELD_ERRORS] = form.error_class(
            [
                "Too many failed attempts to log in. "
                f"Try again in {limited.wait_in_words}, or reset your password."
            ],
            error_class="nonfield",
        )
        context = self.get_context_data(form=form, retry_after=limited.retry_after)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response


class AdminLoginView(LoginView):
    """The admin's login page, as AdminSite.login shows it, under the same limit."""

    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"
    next_page = "admin:index"

    def setup(self, request: HttpRequest, *args, **kwargs) -> None:
        request.current_app = admin.site.name
        super().setup(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if admin.site.has_permission(request):
            return redirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(
            **admin.site.each_context(self.request),
            title="Log in",
            subtitle=None,
            app_path=self.request.get_full_path(),
            username=self.request.user.get_username(),
            **kwargs,
        )
