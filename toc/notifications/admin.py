from __future__ import annotations

from django.contrib import admin

from toc.notifications.models import Attempt, Delivery, Event


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "ok", "status_code", "duration_ms", "response", "error"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "team", "occurred_at", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["key"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Where an operator sees what was owed, sent or given up on."""

    list_display = ["event", "target", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["event", "webhook", "chat", "recipient"]
    inlines = [AttemptInline]
