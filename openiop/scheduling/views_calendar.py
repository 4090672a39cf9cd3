"""The facility's week (day and night lanes) and a clinician's day.

Everyone on staff but the auditor reads the calendar (scheduling.view_schedule, 403
otherwise); both pages are the current facility's only. Times are the facility's local
time. A page costs the same number of queries whatever the number of sessions.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from openiop.accounts.models import Facility, Track, User
from openiop.accounts.roles import CLINICAL_ROLES
from openiop.accounts.selectors import staff_with_roles
from openiop.scheduling import rules, selectors
from openiop.scheduling.permissions import CATALOG_ROLES

VIEW = "scheduling.view_schedule"
LANES = {"day": "Day", "night": "Night"}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def facility_of(request: HttpRequest, permission: str = VIEW) -> tuple[User, Facility]:
    """The role check (403), then the facility the user is working in."""
    user = _user(request)
    if not user.can(permission):
        if permission == VIEW:
            raise PermissionDenied("The schedule is for the program's staff.")
        raise PermissionDenied("Only clinical leadership changes the groups, rooms and schedules.")
    facility: Facility | None = request.facility  # type: ignore[attr-defined]
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return user, facility


def clock(moment: dt.datetime | dt.time, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """6:00 pm, in the facility's zone."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(zone).time() if zone else moment.time()
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def day_text(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


@dataclass
class Shown:
    """An entry of the calendar with its local times written out."""

    entry: selectors.Entry
    start: str
    end: str


@dataclass
class ShownDay:
    date: dt.date
    label: str
    is_today: bool
    day: list[Shown] = field(default_factory=list)
    night: list[Shown] = field(default_factory=list)

    @property
    def lanes(self) -> list[tuple[str, str, list[Shown]]]:
        return [("day", "Day", self.day), ("night", "Night", self.night)]


def _shown(entry: selectors.Entry, zone: zoneinfo.ZoneInfo) -> Shown:
    return Shown(entry, clock(entry.starts_at, zone), clock(entry.ends_at, zone))


def _keep(entry: selectors.Entry, track: Track | None) -> bool:
    if track is None:
        return True
    return entry.session is not None and entry.session.track_id == track.pk


@login_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    user, facility = facility_of(request)
    zone = facility.zone
    today = selectors.today_at(facility)
    monday = rules.week_start(rules.parse_day(request.GET.get("week"), today))
    tracks = list(Track.objects.filter(program__facility=facility).order_by("name", "pk"))
    track = next((t for t in tracks if str(t.pk) == request.GET.get("track")), None)
    lane = request.GET.get("lane") if request.GET.get("lane") in LANES else ""
    days = []
    for d in selectors.facility_week(user, facility, monday):
        shown = ShownDay(d.date, day_text(d.date), d.date == today)
        if lane != "night":
            shown.day = [_shown(e, zone) for e in d.day if _keep(e, track)]
        if lane != "day":
            shown.night = [_shown(e, zone) for e in d.night if _keep(e, track)]
        days.append(shown)
    sunday = monday + dt.timedelta(days=6)
    context = {
        "facility": facility,
        "days": days,
        "monday": monday,
        "title": f"Week of {monday:%B} {monday.day}, {monday.year}",
        "range": f"{day_text(monday)} – {day_text(sunday)}",
        "previous": monday - dt.timedelta(days=7),
        "next": monday + dt.timedelta(days=7),
        "this_week": rules.week_start(today),
        "tracks": tracks,
        "track": track,
        "lane": lane,
        "lanes": list(LANES.items()),
        "filtered": bool(track or lane),
        "nothing": all(not d.day and not d.night for d in days),
        "subnav": "week",
    }
    return render(request, "scheduling/calendar/week.html", context)


@login_required
@require_GET
def day(request: HttpRequest) -> HttpResponse:
    user, facility = facility_of(request)
    zone = facility.zone
    today = selectors.today_at(facility)
    on = rules.parse_day(request.GET.get("date"), today)
    may_pick = user.role in CATALOG_ROLES
    staff: User = user
    wanted = request.GET.get("staff")
    if wanted and wanted != str(user.pk):
        if not may_pick:
            raise PermissionDenied(
                "Only clinical directors and supervisors look at someone else's day."
            )
        found = (
            User.objects.filter(pk=int(wanted) if wanted.isdigit() else 0, facilities=facility)
            .filter(is_active=True)
            .first()
        )
        if found is None:
            raise Http404("No such staff member at this facility.")
        staff = found
    entries = [_shown(e, zone) for e in selectors.staff_day(user, staff, facility, on)]
    context = {
        "facility": facility,
        "entries": entries,
        "on": on,
        "title": day_text(on),
        "staff": staff,
        "mine": staff.pk == user.pk,
        "may_pick": may_pick,
        "staff_choices": list(staff_with_roles(facility, CLINICAL_ROLES)) if may_pick else [],
        "previous": on - dt.timedelta(days=1),
        "next": on + dt.timedelta(days=1),
        "today": today,
        "subnav": "day",
    }
    return render(request, "scheduling/calendar/day.html", context)


urlpatterns: list[URLPattern] = [
    path("", week, name="week"),
    path("day/", day, name="day"),
]
