"""The chart's Schedule & attendance tab: the patient's week and how they attended, the
dose (SPEC §2), their groups (join, leave), appointments, the printable weekly sheet and
the private calendar links (ICS).

Every chart page checks the role first (403), then opens the chart through
``chart_access`` (404 out of scope, audited). Writes go through the services; a view
parses the form, calls the service and shows its errors (nothing is saved on error).
The feed address has no sign-in: its token is the only key, so an unknown link and a
stopped one answer the same 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors
from openiop.plans.rules import CRISIS_LINE
from openiop.scheduling import ics, rules, selectors, services
from openiop.scheduling.forms_patient import EnrollForm, FeedForm, LeaveForm, parse_id
from openiop.scheduling.models import Attendance, CalendarFeed, Enrollment, Schedule
from openiop.scheduling.text import repeats_text

SECTION = "schedule"
SHEET_FILENAME = "weekly-schedule.pdf"
FEED_WARNING = (
    "Anyone with this link sees the times of the sessions and appointments. It holds "
    "initials only, never a name or anything about health. Stop the link if it is lost "
    "or no longer needed."
)


# --- helpers -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _may_read(user: User) -> bool:
    return user.can("scheduling.view_schedule") and user.can("patients.view_patient")


def _open(
    request: HttpRequest, pk: int, *, permission: str = "", refused: str = ""
) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403), then the chart (404 out of scope, audited)."""
    user = _user(request)
    if not _may_read(user):
        raise PermissionDenied("The schedule is for the program's staff.")
    if permission and not user.can(permission):
        raise PermissionDenied(refused or "Your role does not do this.")
    access = chart_access(user, pk, section=SECTION)
    context = chart_context(user, access, tab="schedule")
    context.update(
        {
            "may_enroll": user.can("scheduling.add_enrollment"),
            "may_book": user.can("scheduling.change_appointment"),
            "sees_dose": user.can("scheduling.view_dose"),
            "zone": access.patient.facility.time_zone,
        }
    )
    return user, access, context


def _episode(context: dict[str, Any]) -> EpisodeOfCare | None:
    """The open episode the chart header already read (no second query)."""
    episode: EpisodeOfCare | None = context.get("episode")
    if episode is not None:
        episode.patient = context["patient"]
    return episode


def _tab(pk: int, monday: dt.date | None = None) -> str:
    address = reverse("scheduling:patient", kwargs={"pk": pk})
    return f"{address}?week={monday.isoformat()}" if monday else address


@dataclass
class WeekRow:
    entry: selectors.Entry
    attendance: Attendance | None

    @property
    def attended_text(self) -> str:
        if self.attendance is None:
            return ""
        status = self.attendance.get_status_display()
        if self.attendance.minutes:
            return f"{status}, {rules.minutes_text(self.attendance.minutes)}"
        return status


@dataclass
class WeekDay:
    date: dt.date
    rows: list[WeekRow] = field(default_factory=list)


def _week(items: list[selectors.PatientItem], monday: dt.date, zone: Any) -> list[WeekDay]:
    """The seven local days of the week, each with its sessions and appointments."""
    days = [WeekDay(monday + dt.timedelta(days=n)) for n in range(7)]
    by_date = {d.date: d for d in days}
    for item in items:
        day = by_date.get(item.entry.starts_at.astimezone(zone).date())
        if day is not None:
            day.rows.append(WeekRow(item.entry, item.attendance))
    return days


@dataclass
class GroupRow:
    enrollment: Enrollment
    repeats: str


# --- the chart tab -----------------------------------------------------------------------------


@login_required
@require_safe
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's week and how they attended, the week's and the episode's dose, their
    groups and appointments: a constant number of queries whatever the number of groups."""
    _actor, access, context = _open(request, pk)
    return _tab_page(request, access, context)


def _tab_page(
    request: HttpRequest,
    access: ChartAccess,
    context: dict[str, Any],
    *,
    feed_form: FeedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The chart tab; ``feed_form`` is a calendar-link form sent back with its errors."""
    person = access.patient
    today: dt.date = context["today"]
    monday = rules.week_start(rules.parse_day(request.GET.get("week"), today))
    zone = person.facility.zone
    episode = _episode(context)
    context.update(
        {
            "monday": monday,
            "sunday": monday + dt.timedelta(days=6),
            "previous": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "this_monday": rules.week_start(today),
            "week": _week(selectors.patient_week(person, monday), monday, zone),
            "appointments": list(selectors.appointments_of(person)[:25]),
        }
    )
    if episode is not None:
        enrollments = list(selectors.enrollments_of(episode))
        context["groups"] = [
            GroupRow(e, repeats_text(e.schedule.rrule))
            for e in enrollments
            if e.end_date is None or e.end_date >= today
        ]
        context["past_groups"] = [e for e in enrollments if e.end_date and e.end_date < today]
        context["planned"] = selectors.planned_week(episode, max(monday, today))
        if context["sees_dose"]:
            week_days, week_row = selectors.episode_week(episode, monday)
            context.update(
                {
                    "week_days": week_days,
                    "week_row": week_row,
                    "totals": selectors.episode_dose(episode, today),
                    "recent": selectors.episode_weeks(episode, limit=8),
                    "dose_rules": episode.program.dose_rules(),
                }
            )
    if context["may_book"]:
        context["feeds"] = list(selectors.feeds_of(patient=person))
        context["feed_form"] = feed_form or FeedForm()
    return render(request, "scheduling/patient/tab.html", context, status=status)


# --- joining and leaving groups ----------------------------------------------------------------


@dataclass
class Choice:
    """One group the patient could join, and what enrolling would mean."""

    schedule: Schedule
    check: services.EnrollmentCheck
    repeats: str

    @property
    def refusal(self) -> str:
        return " ".join(self.check.errors.values())


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def enroll(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose a group and a first day; the planned weekly hours follow the choice (htmx,
    or the Check button without JavaScript). A phase or track warning needs a reason."""
    user, access, context = _open(
        request,
        pk,
        permission="scheduling.add_enrollment",
        refused="Only the clinical team enrolls patients in groups.",
    )
    person = access.patient
    episode = _episode(context)
    if episode is None:
        messages.error(
            request, "The patient is not in treatment (no open episode): admit them first."
        )
        return redirect(_tab(person.pk))
    today: dt.date = context["today"]
    data = request.POST if request.method == "POST" else request.GET
    start = rules.parse_day(data.get("start_date"), today)
    schedules = list(selectors.open_schedules_for(episode, start))
    checks = services.check_enrollments(episode, schedules, start)
    choices = [Choice(s, checks[s.pk], repeats_text(s.rrule)) for s in schedules]
    by_id = {c.schedule.pk: c for c in choices}
    chosen = by_id.get(parse_id(data.get("schedule")) or 0)
    form = EnrollForm(
        request.POST if request.method == "POST" else None,
        schedules=schedules,
        initial={"start_date": start, "schedule": chosen.schedule.pk if chosen else None},
    )
    planned = selectors.planned_week(
        episode, start, adding=chosen.schedule if chosen and chosen.check.ok else None
    )
    context.update(
        {
            "episode": episode,
            "form": form,
            "choices": choices,
            "chosen": chosen,
            "planned": planned,
            "start": start,
            "needs_reason": bool(chosen and chosen.check.ok and chosen.check.warnings),
        }
    )
    if request.method != "POST":
        if request.htmx and request.GET.get("part") == "planned":  # type: ignore[attr-defined]
            return render(request, "scheduling/patient/_planned.html", context)
        return render(request, "scheduling/patient/enroll.html", context)
    if "check" in request.POST or not form.is_valid():
        return render(request, "scheduling/patient/enroll.html", context)
    target = form.chosen()
    assert target is not None  # noqa: S101 - the form accepts only the schedules shown
    try:
        enrollment = services.enroll(
            actor=user,
            episode=episode,
            schedule=target,
            start_date=form.cleaned_data["start_date"],
            override_reason=form.cleaned_data["override_reason"],
        )
    except ValidationError as error:
        found = getattr(error, "error_dict", {}).get("override_reason", [])
        if any(e.code == "warning" for e in found):
            context["needs_reason"] = True
        apply_errors(form, error, {"episode": "__all__"})
        return render(request, "scheduling/patient/enroll.html", context)
    messages.success(
        request,
        f"{person.display_name} joins {target.group.name} ({repeats_text(target.rrule)}) "
        f"from {enrollment.start_date:%m/%d/%Y}.",
    )
    return redirect(_tab(person.pk))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def leave(request: HttpRequest, pk: int, enrollment_pk: int) -> HttpResponse:
    """Take the patient off a group's roster from a day, with the reason (confirmed)."""
    user, access, context = _open(
        request,
        pk,
        permission="scheduling.add_enrollment",
        refused="Only the clinical team changes group enrollments.",
    )
    person = access.patient
    enrollment = selectors.enrollment_of(person, enrollment_pk)
    if enrollment is None:
        raise Http404("No such group enrollment for this patient.")
    today: dt.date = context["today"]
    form = LeaveForm(
        request.POST if request.method == "POST" else None,
        initial={"end_date": max(today, enrollment.start_date)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.end_enrollment(
                actor=user,
                enrollment=enrollment,
                end_date=form.cleaned_data["end_date"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"{person.display_name} leaves {enrollment.schedule.group.name}; their last "
                f"day is {form.cleaned_data['end_date']:%m/%d/%Y}.",
            )
            return redirect(_tab(person.pk))
    context.update(
        {
            "enrollment": enrollment,
            "repeats": repeats_text(enrollment.schedule.rrule),
            "form": form,
        }
    )
    return render(request, "scheduling/patient/leave.html", context)


# --- the printable weekly sheet ----------------------------------------------------------------


def sheet_pdf(context: dict[str, Any]) -> bytes:
    """One page for the patient to take home (no network: our own stylesheet only). A
    busy week is printed smaller rather than on a second page."""
    import weasyprint  # imported here: it loads system libraries, only PDF requests need it

    stylesheet = finders.find("scheduling/sheet.css")
    css = [weasyprint.CSS(filename=stylesheet)] if stylesheet else []
    document = None
    for compact in (False, True):
        html = render_to_string("scheduling/patient/sheet.html", {**context, "compact": compact})
        document = weasyprint.HTML(string=html).render(stylesheets=css)
        if len(document.pages) == 1:
            return bytes(document.write_pdf())
    assert document is not None  # noqa: S101
    return bytes(document.copy(document.pages[:1]).write_pdf())


@login_required
@require_safe
def sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The week's sessions and appointments on one page, handed to the patient in person."""
    user, access, context = _open(request, pk)
    person = access.patient
    today: dt.date = context["today"]
    monday = rules.week_start(rules.parse_day(request.GET.get("week"), today))
    episode = _episode(context)
    week = _week(selectors.patient_week(person, monday), monday, person.facility.zone)
    content = sheet_pdf(
        {
            "patient": person,
            "facility": person.facility,
            "program": episode.program if episode else None,
            "monday": monday,
            "sunday": monday + dt.timedelta(days=6),
            "week": week,
            "zone": person.facility.time_zone,
            "printed_on": today,
            "crisis_line": CRISIS_LINE,
        }
    )
    record(
        actor=user,
        action=AuditEvent.Action.PRINT,
        patient=person,
        obj=person,
        section=SECTION,
        detail={"document": "weekly schedule", "week": monday.isoformat()},
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{SHEET_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response


# --- calendar links ----------------------------------------------------------------------------


def _shown_once(
    request: HttpRequest, context: dict[str, Any], feed: CalendarFeed, token: str
) -> HttpResponse:
    context.update(
        {
            "feed": feed,
            "address": request.build_absolute_uri(services.feed_link(token)),
            "warning": FEED_WARNING,
        }
    )
    response = render(request, "scheduling/feeds/created.html", context)
    add_never_cache_headers(response)  # the address must not linger in a cache
    return response


@login_required
@require_POST
def feed_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a private calendar link of the patient's schedule; its address is shown once."""
    user, access, context = _open(
        request,
        pk,
        permission="scheduling.change_appointment",
        refused="Only the clinical team and the front desk make calendar links.",
    )
    form = FeedForm(request.POST)
    if not form.is_valid():  # nothing is made: the tab again, the error on the name
        return _tab_page(request, access, context, feed_form=form, status=400)
    feed, token = services.create_feed(
        actor=user, patient=access.patient, label=form.cleaned_data["label"]
    )
    context["back"] = _tab(access.patient.pk) + "#calendar-links"
    return _shown_once(request, context, feed, token)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def feed_stop(request: HttpRequest, pk: int, feed_pk: int) -> HttpResponse:
    user, access, context = _open(
        request,
        pk,
        permission="scheduling.change_appointment",
        refused="Only the clinical team and the front desk stop calendar links.",
    )
    feed = selectors.feeds_of(patient=access.patient).filter(pk=feed_pk).first()
    if feed is None:
        raise Http404("No such calendar link for this patient.")
    back = _tab(access.patient.pk) + "#calendar-links"
    if request.method == "POST":
        services.revoke_feed(actor=user, feed=feed)
        messages.success(request, "The calendar link is stopped: it shows nothing any more.")
        return redirect(back)
    context.update({"feed": feed, "back": back})
    return render(request, "scheduling/feeds/stop.html", context)


def _staff_user(request: HttpRequest) -> User:
    user = _user(request)
    if not user.can("scheduling.view_schedule"):
        raise PermissionDenied("The schedule is for the program's staff.")
    return user


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_feed(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own calendar link: the groups they run and their
    appointments (patients by initials only)."""
    user = _staff_user(request)
    context: dict[str, Any] = {"warning": FEED_WARNING, "form": FeedForm()}
    status = 200
    if request.method == "POST":
        form = FeedForm(request.POST)
        if form.is_valid():
            feed, token = services.create_feed(
                actor=user, staff=user, label=form.cleaned_data["label"]
            )
            context["back"] = reverse("scheduling:my_feed")
            return _shown_once(request, context, feed, token)
        context["form"], status = form, 400  # nothing is made: the error on the name
    context["feeds"] = list(selectors.feeds_of(staff=user))
    return render(request, "scheduling/feeds/mine.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_feed_stop(request: HttpRequest, feed_pk: int) -> HttpResponse:
    user = _staff_user(request)
    feed = selectors.feeds_of(staff=user).filter(pk=feed_pk).first()
    if feed is None:
        raise Http404("No such calendar link of yours.")
    back = reverse("scheduling:my_feed")
    if request.method == "POST":
        services.revoke_feed(actor=user, feed=feed)
        messages.success(request, "Your calendar link is stopped: it shows nothing any more.")
        return redirect(back)
    return render(request, "scheduling/feeds/stop.html", {"feed": feed, "back": back})


@require_safe
@never_cache
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The ICS a calendar app subscribes to. No sign-in: the token is the key; an unknown
    and a stopped link get the same 404. Every fetch is in the audit trail."""
    found = selectors.feed_by_token(token)
    if found is None:
        raise Http404("No calendar here.")
    content, count = ics.feed_calendar(found, now=timezone.now())
    services.record_feed_use(feed=found, events=count)
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


urlpatterns: list[URLPattern] = [
    path("patient/<int:pk>/", patient, name="patient"),
    path("patient/<int:pk>/enroll/", enroll, name="enroll"),
    path("patient/<int:pk>/groups/<int:enrollment_pk>/leave/", leave, name="leave"),
    path("patient/<int:pk>/sheet/", sheet, name="sheet"),
    path("patient/<int:pk>/calendar-links/new/", feed_new, name="feed_new"),
    path("patient/<int:pk>/calendar-links/<int:feed_pk>/stop/", feed_stop, name="feed_stop"),
    path("my-calendar/", my_feed, name="my_feed"),
    path("my-calendar/<int:feed_pk>/stop/", my_feed_stop, name="my_feed_stop"),
    path("feed/<str:token>.ics", feed, name="feed"),
]
