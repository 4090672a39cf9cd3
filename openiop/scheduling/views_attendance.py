"""A group's attendance screen: the whole roster recorded in one save.

The role is checked first (403); the session must be at one of the user's facilities (404
otherwise). The roster is the schedule's enrollment that day plus whoever already has
attendance (drop-ins included); each patient shown is recorded in the audit trail. Saving
is one call to ``services.save_group_attendance``: all lines or none. A refusal keeps what
was typed and marks the lines; a second screen saving the same group in between is refused
as stale. Patients' names never go in a URL: drop-ins are searched by POST and added by id.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openiop.accounts.models import User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.patients.models import Patient
from openiop.scheduling import rules, selectors, services
from openiop.scheduling.forms_attendance import (
    MINUTES_HELP,
    DropInSearchForm,
    LineForm,
    SessionFieldsForm,
)
from openiop.scheduling.models import Attendance, Session

PERMISSION = "scheduling.change_attendance"
REFUSED_ROLE = "Only the clinical team and the front desk record attendance."
ROSTER_SECTION = "attendance roster"
SEARCH_SECTION = "attendance drop-in search"


@dataclass
class Row:
    """One patient's line on the screen."""

    patient: Patient
    enrolled: bool
    saved: Attendance | None
    form: LineForm

    @property
    def drop_in(self) -> bool:
        return not self.enrolled

    @property
    def prefix(self) -> str:
        return self.form.prefix or ""


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _session(user: User, pk: int) -> Session:
    """The role (403), then the session at one of the user's facilities (404)."""
    if not user.can(PERMISSION):
        raise PermissionDenied(REFUSED_ROLE)
    facility_ids = list(facilities_for(user).values_list("pk", flat=True))
    session = selectors.session_for(user, facility_ids, pk)
    if session is None:
        raise Http404("No such session at your facilities.")
    return session


def _ids(values: Iterable[str]) -> list[int]:
    out: list[int] = []
    for v in values:
        if v.isdigit() and int(v) not in out:
            out.append(int(v))
    return out


def _local_start(session: Session) -> dt.time:
    return session.starts_at.astimezone(session.facility.zone).time()


def _default_minutes(session: Session, saved: Attendance) -> int:
    return rules.minutes_attended(
        saved.status,
        session_start=_local_start(session),
        session_minutes=session.minutes,
        arrived=saved.arrived_at,
        left=saved.left_at,
    )


def _row(
    session: Session,
    patient: Patient,
    *,
    enrolled: bool,
    saved: Attendance | None,
    data: Any = None,
) -> Row:
    default_status = (
        Attendance.Status.CANCELLED if session.is_cancelled else Attendance.Status.PRESENT
    )
    initial = LineForm.initial_for(
        saved,
        default_status=default_status,
        default_minutes=_default_minutes(session, saved) if saved else None,
    )
    if saved is None and session.telehealth and session.room_id is None:
        initial["telehealth"] = True
    form = LineForm(
        data,
        prefix=f"p{patient.pk}",
        initial=initial,
        who=f"{patient.last_name}, {patient.first_name}",
        session_minutes=session.minutes,
    )
    return Row(patient=patient, enrolled=enrolled, saved=saved, form=form)


def _audit_shown(user: User, session: Session, patient_ids: Sequence[int]) -> None:
    """One view record per patient shown on the screen (one insert for the whole list)."""
    record_list(
        actor=user,
        patients=patient_ids,
        facility_id=session.facility_id,
        obj=session,
        section=ROSTER_SECTION,
        detail={"session": session.pk},
    )


def saved_text(lines: Sequence[services.Line]) -> str:
    """ "Attendance saved: 8 present, 1 late, 2 absent." """
    counts = Counter(line.status for line in lines)
    parts = [
        (counts["present"], "present"),
        (counts["late"], "late"),
        (counts["left_early"], "left early"),
        (counts["excused"] + counts["unexcused"], "absent"),
        (counts["cancelled"], "marked 'session cancelled'"),
    ]
    said = ", ".join(f"{n} {label}" for n, label in parts if n)
    return f"Attendance saved: {said}." if said else "Attendance saved: nobody on the roster."


@login_required
@require_http_methods(["GET", "POST"])
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a whole group: GET shows the roster, POST saves every line at once."""
    user = _user(request)
    session = _session(user, pk)
    started = timezone.now() >= session.starts_at
    roster = selectors.roster(user, session)
    on_roster = {r.patient.pk for r in roster.rows}
    posted = request.method == "POST"
    source = request.POST if posted else request.GET
    wanted = [pid for pid in _ids(source.getlist("add")) if pid not in on_roster]
    added = selectors.drop_ins_by_id(user, session, wanted)
    if request.htmx and not posted:  # type: ignore[attr-defined]
        # The drop-in search's "Add" button: just the new line(s), appended to the table.
        _audit_shown(user, session, [p.pk for p in added])
        return render(
            request,
            "scheduling/attendance/_rows.html",
            {
                "rows": [_row(session, p, enrolled=False, saved=None) for p in added],
                "started": started,
            },
        )
    data = request.POST if posted else None
    rows = [
        _row(session, r.patient, enrolled=r.enrolled, saved=r.attendance, data=data)
        for r in roster.rows
    ]
    rows += [_row(session, p, enrolled=False, saved=None, data=data) for p in added]
    fields = SessionFieldsForm(
        data, initial={"topic": session.topic, "revision": session.attendance_revision}
    )
    problem = ""
    stale = False
    if posted:
        missing = len(wanted) - len(added)
        # Every line is validated (no short-circuit) so each shows its own errors.
        lines_ok = [r.form.is_valid() for r in rows]
        forms_ok = fields.is_valid() & all(lines_ok)
        if missing:
            problem = (
                "Nothing was saved: a patient added as a drop-in is not in treatment here or is "
                "not someone you may see. Reload the page to start again."
            )
        elif not forms_ok:
            problem = "Nothing was saved: fix the lines marked below."
        else:
            lines = [r.form.line(r.patient.pk, drop_in=r.drop_in) for r in rows]
            try:
                services.save_group_attendance(
                    actor=user,
                    session=session,
                    lines=lines,
                    revision=fields.cleaned_data["revision"],
                    topic=fields.cleaned_data["topic"],
                )
            except services.AttendanceRefused as refused:
                stale = refused.code == "stale"
                problem = " ".join(refused.messages)
                by_patient = {r.patient.pk: r for r in rows}
                for pid, errors in refused.lines.items():
                    row = by_patient.get(pid)
                    if row is None:
                        continue
                    for name, message in errors.items():
                        row.form.add_error(name if name in row.form.fields else None, message)
            else:
                messages.success(request, saved_text(lines))
                return redirect("scheduling:attendance", pk=session.pk)
    _audit_shown(user, session, [r.patient.pk for r in rows])
    context = {
        "session": session,
        "rows": rows,
        "fields": fields,
        "topics": [t.title for t in session.group.topics.all()],
        "started": started,
        "problem": problem,
        "stale": stale,
        "search": DropInSearchForm(),
        "added_ids": [p.pk for p in added],
        "minutes_help": MINUTES_HELP,
        "changes": [c for c in session.changes.all() if c.kind != "topic"],
        "not_shown": roster.not_shown,
    }
    return render(request, "scheduling/attendance/screen.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def drop_in_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Patients in treatment here who could drop in. The name is POSTed, never in a URL."""
    user = _user(request)
    session = _session(user, pk)
    form = DropInSearchForm(request.POST or None)
    term = form.cleaned_data["q"].strip() if form.is_valid() else ""
    on_roster = {r.patient.pk for r in selectors.roster(user, session).rows}
    added = _ids(request.POST.getlist("add"))
    candidates: list[Patient] = []
    if term:
        candidates = [
            p
            for p in selectors.drop_in_candidates(user, session, term)
            if p.pk not in on_roster and p.pk not in added
        ]
        record(
            actor=user,
            action=AuditEvent.Action.SEARCH,
            facility_id=session.facility_id,
            obj=session,
            section=SEARCH_SECTION,
            detail={"session": session.pk, "results": len(candidates)},
        )
    context = {
        "session": session,
        "form": form,
        "term": term,
        "candidates": candidates,
        "added_ids": added,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "scheduling/attendance/_drop_in_results.html", context)
    return render(request, "scheduling/attendance/drop_in.html", context)


urlpatterns: list[URLPattern] = [
    path("session/<int:pk>/attendance/", attendance, name="attendance"),
    path("session/<int:pk>/attendance/drop-in/", drop_in_search, name="drop_in_search"),
]
