"""Changing and resetting a password: Django's views, where the person may also
revoke their API tokens.

A new password ends sessions on its own: each session keeps a hash of the
password it was opened with, and Django ends a session whose hash no longer
matches. A change carries the session that made it over to the new password
and ends every other; a reset ends them all.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from toc.accounts.login import failures_forget
from toc.accounts.models import ApiToken
from toc.lib import ratelimit


def _revoke_tokens_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,
        label="Also revoke my API tokens",
        help_text="Scripts using them stop working until you give them new ones.",
    )


class _NewPasswordForm(forms.Form):
    revoke_tokens = _revoke_tokens_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The validators' rules as one muted sentence under the field, not the
        # bulleted HTML list Django gives.
        self.fields["new_password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )


class PasswordChangeForm(_NewPasswordForm, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(_NewPasswordForm, auth_forms.SetPasswordForm):
    pass


def _revoke_tokens_if_asked(request: HttpRequest, form) -> None:
    if not form.cleaned_data["revoke_tokens"]:
        return
    revoked, _ = ApiToken.objects.filter(user=form.user).delete()
    messages.success(
        request, f"Revoked {revoked} API token{'' if revoked == 1 else 's'}."
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    # Not Django's default names, which the admin's own password pages use.
    template_name = "registration/password_change.html"

    def form_valid(self, form) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            _revoke_tokens_if_asked(self.request, form)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_changed.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, limited per address: each may send a mail."""

    email_template_name = "registration/password_reset_email.txt"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            ratelimit.hit_all(
                [("password-reset-address", ratelimit.client_network(request))]
            )
        except ratelimit.RateLimited as limited:
            form = self.get_form()
            form.add_error(
                None,
                "Too many reset requests from this address. "
                f"Try again in {limited.wait_in_words}.",
            )
            response = self.render_to_response(
                self.get_context_data(form=form), status=429
            )
            response["Retry-After"] = str(limited.retry_after)
            return response
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm

    def form_valid(self, form) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            _revoke_tokens_if_asked(self.request, form)
        failures_forget(self.request, form.user.get_username())
        return response
