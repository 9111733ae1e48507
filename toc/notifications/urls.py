from __future__ import annotations

from django.urls import path

from toc.notifications import views

app_name = "notifications"

# Under /teams/<slug>/notifications/ (toc/urls.py).
urlpatterns = [
    path("", views.team_notifications, name="team"),
    path("webhooks/", views.webhook_add, name="webhook-add"),
    path(
        "webhooks/<int:webhook_id>/",
        views.webhook_deliveries,
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/remove/",
        views.webhook_remove,
        name="webhook-remove",
    ),
    path("chat/", views.chat_add, name="chat-add"),
    path("chat/<int:chat_id>/remove/", views.chat_remove, name="chat-remove"),
    path("email/", views.email_choose, name="email"),
]
