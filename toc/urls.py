from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from toc.accounts import invitations, login, oidc, passwords
from toc.accounts import views as account_views
from toc.dashboard import urls as dashboard_urls
from toc.lib.health import healthz
from toc.systems import urls as system_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="systems:list"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on: both answer 404 while it is off (settings.OIDC_ISSUER).
    path("accounts/sso/", oidc.sign_in, name="sso"),
    path("accounts/sso/callback/", oidc.callback, name="sso-callback"),
    # Django's own names: its views and the reset mail reverse them.
    path(
        "account/password/",
        passwords.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/changed/",
        passwords.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "account/password/reset/",
        passwords.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "account/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "account/password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/tokens/", account_views.token_list, name="tokens"),
    path(
        "account/tokens/<slug:token_key>/revoke/",
        account_views.token_revoke,
        name="token-revoke",
    ),
    path("teams/", include("toc.accounts.urls")),
    path("teams/<slug:slug>/notifications/", include("toc.notifications.urls")),
    path(
        "invitations/<slug:token>/",
        invitations.invitation_accept,
        name="invitation",
    ),
    # One namespace for a system's pages: its settings (toc.systems) and its
    # dashboard (toc.dashboard), which sits a layer above.
    path(
        "systems/",
        include((system_urls.urlpatterns + dashboard_urls.urlpatterns, "systems")),
    ),
    path("systems/<slug:slug>/cycles/", include("toc.cycles.urls")),
    path("api/v1/", include("toc.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema"),
        name="api-docs",
    ),
    # Before the admin's own login view, which has no limit.
    path("admin/login/", login.AdminLoginView.as_view()),
    path("admin/", admin.site.urls),
]

# JSON under /api/, the usual pages elsewhere.
handler400 = "toc.api.errors.bad_request"
handler404 = "toc.api.errors.page_not_found"
handler500 = "toc.api.errors.server_error"
