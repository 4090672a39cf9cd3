"""Plans in the settings pages.

The library is edited here as well as on its own page. Plan versions are shown as bare
facts (number, status, dates; no patient, no content) and never change here: signed
content is locked, and every clinical write goes through openiop.plans.services where it
is checked and audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.plans.models import (
    LibraryGoal,
    LibraryIntervention,
    LibraryObjective,
    LibraryProblem,
    PlanVersion,
)


class LibraryGoalInline(admin.StackedInline):
    model = LibraryGoal
    extra = 0
    min_num = 1


class LibraryObjectiveInline(admin.TabularInline):
    model = LibraryObjective
    extra = 1


class LibraryInterventionInline(admin.TabularInline):
    model = LibraryIntervention
    extra = 1


@admin.register(LibraryProblem)
class LibraryProblemAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "organization", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["title", "statement"]
    inlines = [LibraryGoalInline, LibraryObjectiveInline, LibraryInterventionInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        record(
            actor=request.user,
            action=AuditEvent.Action.UPDATE if change else AuditEvent.Action.CREATE,
            obj=form.instance,
            section="plan library",
            detail={"via": "admin"},
        )


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan_id", "status", "created_at", "locked_at", "activated_at"]
    list_filter = ["status"]
    fields = [
        "plan",
        "number",
        "status",
        "created_at",
        "locked_at",
        "activated_at",
        "superseded_at",
    ]
    readonly_fields = ["plan", "number", "status", "created_at", "locked_at", "activated_at"]
    readonly_fields += ["superseded_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
