"""The group catalog in the settings pages, read-only.

Groups, rooms and schedules are kept on the Schedule pages, where every change goes
through openiop.scheduling.services (checked for double-booking and audited). Sessions,
enrollments, appointments and attendance hold patient information and are not here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from openiop.scheduling.models import GroupType, Room, Schedule


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GroupType)
class GroupTypeAdmin(ReadOnly):
    list_display = ["name", "program", "kind", "specialty", "capacity", "is_active"]
    list_filter = ["kind", "specialty", "is_active"]
    search_fields = ["name"]


@admin.register(Room)
class RoomAdmin(ReadOnly):
    list_display = ["name", "facility", "seats", "is_active"]
    list_filter = ["is_active"]


@admin.register(Schedule)
class ScheduleAdmin(ReadOnly):
    list_display = ["group", "rrule", "start_time", "start_date", "end_date", "facilitator"]
    list_select_related = ["group", "facilitator"]
