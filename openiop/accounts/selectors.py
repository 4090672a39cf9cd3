"""Reads about facilities, programs and staff, scoped to the signed-in user."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from openiop.accounts.models import Facility, Phase, Program, Track, User


def facilities_for(user: User) -> QuerySet[Facility]:
    if not user.is_authenticated or not user.is_active:
        return Facility.objects.none()
    return Facility.objects.filter(staff=user, is_active=True).select_related("organization")


def programs_for(user: User, *, facility: Facility | None = None) -> QuerySet[Program]:
    qs = Program.objects.filter(facility__in=facilities_for(user)).select_related("facility")
    if facility is not None:
        qs = qs.filter(facility=facility)
    return qs.prefetch_related(
        Prefetch("tracks", queryset=Track.objects.order_by("start_time")),
        Prefetch("phases", queryset=Phase.objects.order_by("order")),
    )


def staff_for(user: User, *, facility: Facility | None = None) -> QuerySet[User]:
    """Colleagues who share at least one of the user's facilities."""
    facilities = (
        facilities_for(user) if facility is None else Facility.objects.filter(pk=facility.pk)
    )
    return (
        User.objects.filter(is_active=True, facilities__in=facilities)
        .distinct()
        .select_related("supervisor")
        .prefetch_related("credentials", "facilities")
        .order_by("last_name", "first_name", "id")
    )


def staff_with_roles(facility: Facility, roles: Iterable[str]) -> QuerySet[User]:
    """Active staff of a facility holding one of the roles (who to notify, who may be chosen)."""
    return (
        User.objects.filter(is_active=True, role__in=list(roles), facilities=facility)
        .distinct()
        .order_by("last_name", "first_name", "id")
    )
