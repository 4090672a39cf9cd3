"""The group catalog, rooms, schedules and one session's page with its changes.

Staff who see the calendar read these pages (scheduling.view_schedule); clinical
leadership changes groups, rooms and schedules (scheduling.change_grouptype); the
clinical team changes a session (scheduling.change_session). A role refused answers 403;
a group, schedule or session of another facility answers 404. Writes go through the
services, whose messages land on the form's fields (nothing is saved on error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.models import Credential, Facility, Program, User
from openiop.accounts.roles import CLINICAL_ROLES
from openiop.accounts.selectors import staff_with_roles
from openiop.plans.forms import apply_errors
from openiop.scheduling import selectors, services
from openiop.scheduling.forms_catalog import (
    CurriculumForm,
    EndScheduleForm,
    GroupForm,
    MoveForm,
    ReasonForm,
    RoomChangeForm,
    RoomForm,
    ScheduleForm,
    SubstituteForm,
    TopicForm,
)
from openiop.scheduling.models import GroupType, Room, Schedule, Session, SessionChange
from openiop.scheduling.text import repeats_text
from openiop.scheduling.views_calendar import clock, day_text, facility_of

VIEW = "scheduling.view_schedule"
KEEP = "scheduling.change_grouptype"
CHANGE_SESSION = "scheduling.change_session"
CREDENTIAL_LABELS = dict(Credential.Kind.choices)


# --- helpers -------------------------------------------------------------------------------------


def _group(facility: Facility, pk: int) -> GroupType:
    found = selectors.group_of(facility, pk)
    if found is None:
        raise Http404("No such group at this facility.")
    return found


def _schedule(facility: Facility, pk: int) -> Schedule:
    found = selectors.schedule_of(facility, pk)
    if found is None:
        raise Http404("No such schedule at this facility.")
    return found


def _session(facility: Facility, user: User, pk: int) -> Session:
    found = selectors.session_for(user, [facility.pk], pk)
    if found is None:
        raise Http404("No such session at this facility.")
    return found


def _staff(facility: Facility) -> Any:
    return staff_with_roles(facility, CLINICAL_ROLES)


def _active_rooms(facility: Facility) -> Any:
    return selectors.rooms(facility).filter(is_active=True)


def length_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def _status(form: forms.Form) -> int:
    """400 when the form came back with errors (nothing was saved)."""
    return 400 if form.is_bound and form.errors else 200


def _describe_schedule(s: Schedule) -> None:
    s.repeats_text = repeats_text(s.rrule)  # type: ignore[attr-defined]
    s.start_text = clock(s.start_time)  # type: ignore[attr-defined]
    s.length_text = length_text(s.duration_minutes)  # type: ignore[attr-defined]


# --- the catalog ---------------------------------------------------------------------------------


@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    user, facility = facility_of(request, VIEW)
    groups = list(selectors.group_types(facility))
    programs = list(Program.objects.filter(facility=facility).order_by("name", "pk"))
    by_program = []
    for program in programs:
        mine = [g for g in groups if g.program_id == program.pk]
        for g in mine:
            g.credential_labels = [  # type: ignore[attr-defined]
                CREDENTIAL_LABELS.get(c, c) for c in g.facilitator_credentials or []
            ]
            g.length_text = length_text(g.duration_minutes)  # type: ignore[attr-defined]
        by_program.append((program, mine))
    context = {
        "facility": facility,
        "by_program": by_program,
        "may_keep": user.can(KEEP),
        "subnav": "groups",
    }
    return render(request, "scheduling/catalog/group_list.html", context)


@login_required
@require_GET
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, facility = facility_of(request, VIEW)
    group = _group(facility, pk)
    today = selectors.today_at(facility)
    running = list(selectors.schedules(facility, running_on=today).filter(group=group))
    ended = selectors.ended_schedules(group, today)
    for s in [*running, *ended]:
        _describe_schedule(s)
    context = {
        "facility": facility,
        "group": group,
        "credential_labels": [
            CREDENTIAL_LABELS.get(c, c) for c in group.facilitator_credentials or []
        ],
        "length_text": length_text(group.duration_minutes),
        "running": running,
        "ended": ended,
        "may_keep": user.can(KEEP),
        "subnav": "groups",
    }
    return render(request, "scheduling/catalog/group_detail.html", context)


def _save_group(
    request: HttpRequest, facility: Facility, program: Program, group: GroupType | None
) -> HttpResponse:
    user = request.user
    initial = GroupForm.initial_for(group) if group else None
    form = GroupForm(request.POST or None, program=program, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_group_type(
                actor=user,  # type: ignore[arg-type]
                program=program,
                data=form.cleaned_data,
                group=group,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"“{saved.name}” saved.")
            return redirect("scheduling:group", saved.pk)
    context = {
        "facility": facility,
        "program": program,
        "group": group,
        "form": form,
        "subnav": "groups",
    }
    return render(request, "scheduling/catalog/group_form.html", context, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def group_new(request: HttpRequest, program_pk: int) -> HttpResponse:
    _, facility = facility_of(request, KEEP)
    program = Program.objects.filter(pk=program_pk, facility=facility).first()
    if program is None:
        raise Http404("No such program at this facility.")
    return _save_group(request, facility, program, None)


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _, facility = facility_of(request, KEEP)
    group = _group(facility, pk)
    return _save_group(request, facility, group.program, group)


@login_required
@require_http_methods(["GET", "POST"])
def curriculum(request: HttpRequest, pk: int) -> HttpResponse:
    user, facility = facility_of(request, KEEP)
    group = _group(facility, pk)
    form = CurriculumForm(
        request.POST or None, initial={"topics": CurriculumForm.text_of(group.topics.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            topics = services.set_curriculum(
                actor=user, group=group, topics=form.cleaned_data["topics"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, f"Curriculum of “{group.name}” saved: {len(topics)} topic(s)."
            )
            return redirect("scheduling:group", group.pk)
    context = {"facility": facility, "group": group, "form": form, "subnav": "groups"}
    return render(request, "scheduling/catalog/curriculum_form.html", context, status=_status(form))


@login_required
@require_GET
def room_list(request: HttpRequest) -> HttpResponse:
    user, facility = facility_of(request, VIEW)
    context = {
        "facility": facility,
        "rooms": list(selectors.rooms(facility)),
        "may_keep": user.can(KEEP),
        "subnav": "rooms",
    }
    return render(request, "scheduling/catalog/room_list.html", context)


def _save_room(request: HttpRequest, facility: Facility, room: Room | None) -> HttpResponse:
    initial = (
        {"name": room.name, "seats": room.seats, "is_active": room.is_active} if room else None
    )
    form = RoomForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_room(
                actor=request.user,  # type: ignore[arg-type]
                facility=facility,
                data=form.cleaned_data,
                room=room,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Room “{saved.name}” saved.")
            return redirect("scheduling:rooms")
    context = {"facility": facility, "room": room, "form": form, "subnav": "rooms"}
    return render(request, "scheduling/catalog/room_form.html", context, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def room_new(request: HttpRequest) -> HttpResponse:
    _, facility = facility_of(request, KEEP)
    return _save_room(request, facility, None)


@login_required
@require_http_methods(["GET", "POST"])
def room_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _, facility = facility_of(request, KEEP)
    room = Room.objects.filter(pk=pk, facility=facility).first()
    if room is None:
        raise Http404("No such room at this facility.")
    return _save_room(request, facility, room)


# --- schedules -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest, pk: int) -> HttpResponse:
    user, facility = facility_of(request, KEEP)
    group = _group(facility, pk)
    form = ScheduleForm(
        request.POST or None,
        group=group,
        rooms=_active_rooms(facility),
        staff=_staff(facility),
    )
    if request.method == "POST" and form.is_valid():
        try:
            schedule = services.create_schedule(actor=user, group=group, data=form.service_data())
        except ValidationError as error:
            apply_errors(form, error, aliases=form.aliases())
        else:
            count = schedule.sessions.count()
            messages.success(
                request,
                f"“{group.name}” is on the calendar: {count} session(s) made through "
                f"{day_text(schedule.materialized_through or schedule.start_date)}.",
            )
            return redirect("scheduling:group", group.pk)
    context = {"facility": facility, "group": group, "form": form, "subnav": "groups"}
    return render(request, "scheduling/catalog/schedule_form.html", context, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def schedule_end(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: the day and the reason, then what it does and a confirmation."""
    user, facility = facility_of(request, KEEP)
    schedule = _schedule(facility, pk)
    _describe_schedule(schedule)
    form = EndScheduleForm(request.POST or None)
    preview: tuple[int, int] | None = None
    if request.method == "POST" and form.is_valid():
        last_date: dt.date = form.cleaned_data["last_date"]
        if request.POST.get("confirm") == "yes":
            try:
                services.end_schedule(
                    actor=user,
                    schedule=schedule,
                    last_date=last_date,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    f"“{schedule.group.name}” at {schedule.start_text} "  # type: ignore[attr-defined]
                    f"ends after {day_text(last_date)}.",
                )
                return redirect("scheduling:group", schedule.group_id)
        else:
            preview = selectors.end_schedule_preview(schedule, last_date)
    context = {
        "facility": facility,
        "schedule": schedule,
        "group": schedule.group,
        "form": form,
        "preview": preview,
        "last_date_text": day_text(form.cleaned_data["last_date"]) if preview else "",
        "subnav": "groups",
    }
    return render(request, "scheduling/catalog/schedule_end.html", context, status=_status(form))


# --- one session ---------------------------------------------------------------------------------


def _where(room: Room | None, telehealth: bool) -> str:
    if telehealth and room is None:
        return "Telehealth"
    if telehealth:
        return f"{room} and telehealth"
    return str(room) if room else "No room"


def _change_lines(session: Session, changes: list[SessionChange]) -> list[dict[str, Any]]:
    """Each change in words (two queries for the names, whatever the number of changes)."""
    zone = session.facility.zone
    people: set[int] = set()
    places: set[int] = set()
    for c in changes:
        for side in (c.before, c.after):
            if side.get("facilitator"):
                people.add(side["facilitator"])
            if side.get("room"):
                places.add(side["room"])
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in=people)} if people else {}
    rooms = {r.pk: r.name for r in Room.objects.filter(pk__in=places)} if places else {}

    def when(text: str | None) -> str:
        if not text:
            return "?"
        moment = dt.datetime.fromisoformat(text).astimezone(zone)
        return f"{day_text(moment.date())} at {clock(moment)}"

    def where(side: dict[str, Any]) -> str:
        room = rooms.get(side.get("room") or 0)
        if side.get("telehealth") and not room:
            return "telehealth"
        if side.get("telehealth"):
            return f"{room} and telehealth"
        return room or "no room"

    lines = []
    for c in changes:
        b, a = c.before, c.after
        if c.kind == SessionChange.Kind.MOVE:
            what = f"Moved from {when(b.get('starts_at'))} to {when(a.get('starts_at'))}"
        elif c.kind == SessionChange.Kind.SUBSTITUTE:
            what = (
                f"{names.get(a.get('facilitator'), 'Someone')} covers for "
                f"{names.get(b.get('facilitator'), 'the facilitator')}"
            )
        elif c.kind == SessionChange.Kind.ROOM:
            what = f"Place changed from {where(b)} to {where(a)}"
        elif c.kind == SessionChange.Kind.TOPIC:
            what = f"Topic set to “{a.get('topic')}”" if a.get("topic") else "Topic cleared"
        else:
            what = c.get_kind_display()
        local = c.changed_at.astimezone(zone)
        lines.append(
            {
                "what": what,
                "who": c.changed_by.display_name,
                "when": f"{day_text(local.date())} {local.year} at {clock(local)}",
                "why": c.reason if c.kind != SessionChange.Kind.TOPIC else "",
            }
        )
    return lines


def _session_page(
    request: HttpRequest,
    facility: Facility,
    session: Session,
    *,
    forms_: dict[str, forms.Form] | None = None,
    open_: str = "",
    status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    zone = facility.zone
    starts = session.starts_at.astimezone(zone)
    may_change = user.can(CHANGE_SESSION)
    bound = forms_ or {}
    context: dict[str, Any] = {
        "facility": facility,
        "session": session,
        "group": session.group,
        "day": day_text(starts.date()),
        "start": clock(starts),
        "end": clock(session.ends_at, zone),
        "where": _where(session.room, session.telehealth),
        "moved": session.original_starts_at != session.starts_at,
        "original": (
            f"{day_text(session.original_starts_at.astimezone(zone).date())} at "
            f"{clock(session.original_starts_at, zone)}"
        ),
        "changes": _change_lines(session, list(session.changes.all())),
        "topics": list(session.group.topics.all()),
        "may_change": may_change,
        "may_record": user.can("scheduling.change_attendance"),
        "open": open_,
        "subnav": "",
    }
    if may_change:
        context.update(
            restore_form=bound.get("restore") or ReasonForm(prefix="restore"),
            move_form=bound.get("move")
            or MoveForm(prefix="move", initial={"day": starts.date(), "start": starts.time()}),
            substitute_form=bound.get("substitute")
            or SubstituteForm(prefix="substitute", staff=_staff(facility)),
            room_form=bound.get("room")
            or RoomChangeForm(
                prefix="room",
                rooms=_active_rooms(facility),
                initial={"room": session.room_id, "telehealth": session.telehealth},
            ),
            topic_form=bound.get("topic")
            or TopicForm(prefix="topic", initial={"topic": session.topic}),
        )
    return render(request, "scheduling/catalog/session.html", context, status=status)


def _open_session(request: HttpRequest, pk: int, permission: str) -> tuple[User, Facility, Session]:
    user, facility = facility_of(request, VIEW)
    if permission != VIEW and not user.can(permission):
        raise PermissionDenied("Only the clinical team changes a session.")
    return user, facility, _session(facility, user, pk)


def _back(session: Session) -> HttpResponse:
    return redirect(reverse("scheduling:session", args=[session.pk]))


@login_required
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _, facility, session = _open_session(request, pk, VIEW)
    return _session_page(request, facility, session)


@login_required
@require_http_methods(["GET", "POST"])
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation page: what cancelling means, the reason, then the button."""
    user, facility, session = _open_session(request, pk, CHANGE_SESSION)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_session(actor=user, session=session, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "The session is cancelled. It stays on the calendar, marked.")
            return _back(session)
    starts = session.starts_at.astimezone(facility.zone)
    context = {
        "facility": facility,
        "session": session,
        "form": form,
        "day": day_text(starts.date()),
        "start": clock(starts),
        "subnav": "",
    }
    return render(request, "scheduling/catalog/session_cancel.html", context, status=_status(form))


def _session_action(
    request: HttpRequest,
    pk: int,
    name: str,
    make: Any,
    act: Any,
    done: str,
    aliases: dict[str, str] | None = None,
) -> HttpResponse:
    user, facility, session = _open_session(request, pk, CHANGE_SESSION)
    form = make(request.POST, facility)
    if form.is_valid():
        try:
            act(user, session, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error, aliases=aliases)
        else:
            messages.success(request, done)
            return _back(session)
    return _session_page(request, facility, session, forms_={name: form}, open_=name, status=400)


@login_required
@require_POST
def session_restore(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_action(
        request,
        pk,
        "restore",
        lambda data, _: ReasonForm(data, prefix="restore"),
        lambda user, s, d: services.restore_session(actor=user, session=s, reason=d["reason"]),
        "The cancellation is undone; the session is back on the calendar.",
    )


@login_required
@require_POST
def session_move(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_action(
        request,
        pk,
        "move",
        lambda data, _: MoveForm(data, prefix="move"),
        lambda user, s, d: services.move_session(
            actor=user, session=s, day=d["day"], start=d["start"], reason=d["reason"]
        ),
        "The session is moved.",
    )


@login_required
@require_POST
def session_substitute(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_action(
        request,
        pk,
        "substitute",
        lambda data, facility: SubstituteForm(data, prefix="substitute", staff=_staff(facility)),
        lambda user, s, d: services.substitute_facilitator(
            actor=user, session=s, facilitator=d["facilitator"], reason=d["reason"]
        ),
        "The substitute facilitator is set for this session.",
    )


@login_required
@require_POST
def session_room(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_action(
        request,
        pk,
        "room",
        lambda data, facility: RoomChangeForm(data, prefix="room", rooms=_active_rooms(facility)),
        lambda user, s, d: services.change_room(
            actor=user,
            session=s,
            room=d["room"],
            telehealth=bool(d["telehealth"]),
            reason=d["reason"],
        ),
        "The place of this session is changed.",
    )


@login_required
@require_POST
def session_topic(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_action(
        request,
        pk,
        "topic",
        lambda data, _: TopicForm(data, prefix="topic"),
        lambda user, s, d: services.set_topic(actor=user, session=s, topic=d["topic"]),
        "The topic is saved.",
    )


urlpatterns: list[URLPattern] = [
    path("groups/", group_list, name="groups"),
    path("programs/<int:program_pk>/groups/new/", group_new, name="group_new"),
    path("groups/<int:pk>/", group_detail, name="group"),
    path("groups/<int:pk>/edit/", group_edit, name="group_edit"),
    path("groups/<int:pk>/curriculum/", curriculum, name="curriculum"),
    path("groups/<int:pk>/schedules/new/", schedule_new, name="schedule_new"),
    path("schedules/<int:pk>/end/", schedule_end, name="schedule_end"),
    path("rooms/", room_list, name="rooms"),
    path("rooms/new/", room_new, name="room_new"),
    path("rooms/<int:pk>/edit/", room_edit, name="room_edit"),
    path("session/<int:pk>/", session_detail, name="session"),
    path("session/<int:pk>/cancel/", session_cancel, name="session_cancel"),
    path("session/<int:pk>/restore/", session_restore, name="session_restore"),
    path("session/<int:pk>/move/", session_move, name="session_move"),
    path("session/<int:pk>/substitute/", session_substitute, name="session_substitute"),
    path("session/<int:pk>/room/", session_room, name="session_room"),
    path("session/<int:pk>/topic/", session_topic, name="session_topic"),
]
