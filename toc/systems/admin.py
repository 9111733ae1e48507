from __future__ import annotations

from django.contrib import admin

from toc.systems.models import Stage, System


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    ordering = ["position"]


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "created"]
    list_filter = ["team"]
    search_fields = ["name", "slug"]
    inlines = [StageInline]
