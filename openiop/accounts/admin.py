from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from openiop.accounts.models import Credential, Facility, Organization, Phase, Program, Track, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "organization", "time_zone", "city", "is_active")
    list_filter = ("organization", "is_active")
    search_fields = ("name", "code")


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "facility",
        "level_of_care",
        "population",
        "min_hours_per_day",
        "min_days_per_week",
        "min_hours_per_week",
        "max_hours_per_week",
        "is_active",
    )
    list_filter = ("facility", "level_of_care", "population")
    inlines = [TrackInline, PhaseInline]


class CredentialInline(admin.TabularInline):
    model = Credential
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("last_name", "first_name")
    list_display = ("email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "facilities")
    search_fields = ("email", "first_name", "last_name")
    filter_horizontal = ("facilities", "groups", "user_permissions")
    inlines = [CredentialInline]
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "title")}),
        (
            "Work",
            {"fields": ("organization", "role", "facilities", "supervisor", "needs_cosign")},
        ),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "username", "role", "password1", "password2"),
            },
        ),
    )
