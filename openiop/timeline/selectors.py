"""The chart timeline: everything about a patient in one chronological list.

Each source (sessions, appointments, notes, instruments, drug tests, meetings, relapses, plan
events, admissions, documents, alerts) is a ``values()`` query with the same seven columns;
the database joins them with UNION ALL, orders and pages them, so a page costs the same few
queries for 20 events or 20,000. Group notes come from the patient's own entries: the
timeline shows the group's topic and the patient's participation, never another attendee.
Text is turned into plain words afterwards, in Python, from codes only (no further query).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.attachments.models import Attachment
from openiop.measures import instruments
from openiop.measures.models import Administration
from openiop.notes.models import GroupNoteEntry, Note
from openiop.patients.models import ClinicalAlert, Patient
from openiop.plans.models import PlanReview, PlanVersion
from openiop.recovery import rules as recovery_rules
from openiop.recovery.models import DrugTest, DrugTestResult, Meeting, RelapseEvent, SobrietyDate
from openiop.scheduling.models import Appointment, Attendance
from openiop.scheduling.rules import parse_day

PAGE_SIZE = 100

#: Filter name → (label, the event kinds it shows).
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sessions": ("Sessions and appointments", ("session", "appointment")),
    "notes": ("Notes", ("note", "group_note")),
    "measures": ("Instruments", ("measure",)),
    "drug_tests": ("Drug tests", ("drug_test",)),
    "meetings": ("Mutual-help meetings", ("meeting",)),
    "relapses": ("Relapses and sobriety date", ("relapse", "sobriety")),
    "plan": ("Plan and admission", ("plan", "review", "phase", "admission", "discharge")),
    "documents": ("Documents", ("document",)),
    "alerts": ("Alerts", ("alert",)),
}

COLUMNS = ("kind", "ref", "day", "at", "timed", "a", "b")

Source = Callable[[Patient, Any], QuerySet[Any]]


def _text(value: Any) -> Any:
    return Cast(value, CharField())


def _row(
    qs: QuerySet[Any],
    *,
    kind: str,
    day: Any,
    at: Any | None,
    a: Any,
    b: Any,
) -> QuerySet[Any]:
    return qs.annotate(
        t_kind=Value(kind, output_field=CharField()),
        t_ref=F("pk"),
        t_day=day if not isinstance(day, str) else F(day),
        t_at=(F(at) if isinstance(at, str) else at)
        if at is not None
        else Value(None, output_field=DateTimeField()),
        t_timed=Value(1 if at is not None else 0, output_field=IntegerField()),
        t_a=_text(a if not isinstance(a, str) else F(a)),
        t_b=_text(b if not isinstance(b, str) else F(b)),
    ).values_list("t_kind", "t_ref", "t_day", "t_at", "t_timed", "t_a", "t_b")


def _yes(condition: Q | Exists) -> Case:
    """ "1" or "0", the same on every database (a boolean's text is not)."""
    return Case(When(condition, then=Value("1")), default=Value("0"), output_field=CharField())


def _local_day(field: str, zone: Any) -> Any:
    return TruncDate(field, tzinfo=zone, output_field=DateField())


def _sessions(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Attendance.objects.filter(patient=p, session__isnull=False).order_by(),
        kind="session",
        day="service_date",
        at="session__starts_at",
        a="session__group__name",
        b="status",
    )


def _appointments(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Appointment.objects.filter(patient=p).order_by(),
        kind="appointment",
        day=_local_day("starts_at", zone),
        at="starts_at",
        a="kind",
        b=Coalesce(
            Subquery(
                Attendance.objects.filter(appointment=OuterRef("pk"), patient=p).values("status")[
                    :1
                ],
                output_field=CharField(),
            ),
            "status",
        ),
    )


def _notes(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Note.objects.filter(patient=p).order_by(),
        kind="note",
        day="service_date",
        at="started_at",
        a="kind",
        b=_yes(Q(signed_at__isnull=False)),
    )


def _group_notes(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        GroupNoteEntry.objects.filter(patient=p).order_by(),
        kind="group_note",
        day="group_note__service_date",
        at="group_note__started_at",
        a="group_note__topic",
        b=_yes(Q(group_note__signed_at__isnull=False)),
    )


def _measures(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Administration.objects.filter(patient=p, entered_in_error_at__isnull=True).order_by(),
        kind="measure",
        day=_local_day("administered_at", zone),
        at="administered_at",
        a="instrument",
        b=Coalesce(Cast("total", CharField()), Value("")),
    )


def _drug_tests(p: Patient, zone: Any) -> QuerySet[Any]:
    unexpected = DrugTestResult.objects.filter(
        test=OuterRef("pk"), reading=DrugTestResult.Reading.UNEXPECTED
    )
    return _row(
        DrugTest.objects.filter(patient=p).order_by(),
        kind="drug_test",
        day=_local_day("collected_at", zone),
        at="collected_at",
        a="specimen",
        b=_yes(Exists(unexpected)),
    )


def _meetings(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Meeting.objects.filter(patient=p).order_by(),
        kind="meeting",
        day="date",
        at=None,
        a="fellowship",
        b="minutes",
    )


def _relapses(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        RelapseEvent.objects.filter(patient=p).order_by(),
        kind="relapse",
        day="date",
        at=None,
        a="came_to_light",
        b="substances",
    )


def _sobriety(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        SobrietyDate.objects.filter(patient=p).order_by(),
        kind="sobriety",
        day=_local_day("set_at", zone),
        at="set_at",
        a="sobriety_date",
        b="reason",
    )


def _plan_versions(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        PlanVersion.objects.filter(plan__patient=p, activated_at__isnull=False).order_by(),
        kind="plan",
        day=_local_day("activated_at", zone),
        at="activated_at",
        a="number",
        b="level_of_care",
    )


def _reviews(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        PlanReview.objects.filter(plan__patient=p).order_by(),
        kind="review",
        day="reviewed_on",
        at=None,
        a="decision",
        b="reason",
    )


def _phases(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        PhaseChange.objects.filter(episode__patient=p).order_by(),
        kind="phase",
        day="changed_on",
        at=None,
        a="to_phase__name",
        b=Coalesce("from_phase__name", Value("")),
    )


def _admissions(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        EpisodeOfCare.objects.filter(patient=p).order_by(),
        kind="admission",
        day="admission_date",
        at=None,
        a="program__name",
        b=Value(""),
    )


def _discharges(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        EpisodeOfCare.objects.filter(patient=p, discharge_date__isnull=False).order_by(),
        kind="discharge",
        day="discharge_date",
        at=None,
        a="program__name",
        b=Value(""),
    )


def _documents(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        Attachment.objects.filter(patient=p, removed_at__isnull=True).order_by(),
        kind="document",
        day=_local_day("uploaded_at", zone),
        at="uploaded_at",
        a="description",
        b="content_type",
    )


def _alerts(p: Patient, zone: Any) -> QuerySet[Any]:
    return _row(
        ClinicalAlert.objects.filter(patient=p).order_by(),
        kind="alert",
        day=_local_day("raised_at", zone),
        at="raised_at",
        a="kind",
        b="severity",
    )


SOURCES: dict[str, list[Source]] = {
    "sessions": [_sessions, _appointments],
    "notes": [_notes, _group_notes],
    "measures": [_measures],
    "drug_tests": [_drug_tests],
    "meetings": [_meetings],
    "relapses": [_relapses, _sobriety],
    "plan": [_plan_versions, _reviews, _phases, _admissions, _discharges],
    "documents": [_documents],
    "alerts": [_alerts],
}


@dataclass(frozen=True)
class Event:
    kind: str
    ref: int
    day: dt.date
    at: dt.datetime | None
    title: str
    detail: str
    category: str
    flag: str = ""  # "unexpected", "draft", "urgent"… for a badge (text, not colour only)


@dataclass(frozen=True)
class Page:
    events: list[Event]
    total: int
    page: int
    pages: int
    categories: list[str]
    start: dt.date | None
    end: dt.date | None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _combined(
    patient: Patient, categories: Iterable[str], start: dt.date | None, end: dt.date | None
) -> QuerySet[Any] | None:
    zone = patient.facility.zone
    parts: list[QuerySet[Any]] = []
    for category in categories:
        for source in SOURCES[category]:
            qs = source(patient, zone)
            if start is not None:
                qs = qs.filter(t_day__gte=start)
            if end is not None:
                qs = qs.filter(t_day__lte=end)
            parts.append(qs)
    if not parts:
        return None
    first, *rest = parts
    return first.union(*rest, all=True) if rest else first


def timeline(
    patient: Patient,
    *,
    categories: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Page:
    """One page of the patient's events, newest first. Call only after ``chart_access``."""
    chosen = [c for c in CATEGORIES if categories is None or c in set(categories)]
    combined = _combined(patient, chosen, start, end)
    page = max(1, page)
    rows, total = _fetch(combined, (page - 1) * page_size, page_size)
    pages = max(1, -(-total // page_size))
    if not rows and page > pages:  # past the end (an old link): show the last page
        page = pages
        rows, total = _fetch(combined, (page - 1) * page_size, page_size)
    return Page(
        events=[_event(row) for row in rows],
        total=total,
        page=page,
        pages=pages,
        categories=chosen,
        start=start,
        end=end,
    )


def _fetch(combined: QuerySet[Any] | None, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of the union, newest first, and how many events there are in all: one
    statement (the union is compiled once; the total rides along as a window count)."""
    if combined is None:
        return [], 0
    sql, params = combined.query.get_compiler(using=combined.db).as_sql()
    # Newest day first; on a day, timed events before untimed ones, newest first.
    outer = (
        "SELECT t_kind, t_ref, t_day, t_at, t_timed, t_a, t_b, COUNT(*) OVER () "  # noqa: S608
        f"FROM ({sql}) events "
        "ORDER BY t_day DESC, t_timed DESC, t_at DESC, t_kind ASC, t_ref DESC "
        "LIMIT %s OFFSET %s"
    )
    with connections[combined.db].cursor() as cursor:
        cursor.execute(outer, [*params, limit, offset])
        found = cursor.fetchall()
    if not found:
        return [], (0 if offset == 0 else combined.count())
    return [row[:7] for row in found], int(found[0][7])


# --- plain words ---------------------------------------------------------------------------------

_CATEGORY_OF = {kind: name for name, (_, kinds) in CATEGORIES.items() for kind in kinds}


def _choice(choices: Any, value: Any) -> str:
    return str(dict(choices).get(value, value or ""))


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _when(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _truthy(value: Any) -> bool:
    return str(value) == "1"


def _substances(value: Any) -> str:
    import json

    codes = value if isinstance(value, list) else json.loads(value or "[]")
    return ", ".join(recovery_rules.SUBSTANCES.get(c, c) for c in codes) or "Substance not given"


def _event(row: tuple[Any, ...]) -> Event:
    kind, ref, day, at, _timed, a, b = row
    title, detail, flag = _words(kind, a, b)
    return Event(
        kind=kind,
        ref=int(ref),
        day=_day(day),
        at=_when(at),
        title=title,
        detail=detail,
        category=_CATEGORY_OF[kind],
        flag=flag,
    )


def _words(kind: str, a: Any, b: Any) -> tuple[str, str, str]:
    if kind == "session":
        return f"Group: {a}", _choice(Attendance.Status.choices, b), ""
    if kind == "appointment":
        status = _choice(Attendance.Status.choices, b) or _choice(Appointment.Status.choices, b)
        return _choice(Appointment.Kind.choices, a), status, ""
    if kind == "note":
        signed = _truthy(b)
        return (
            f"{_choice(Note.Kind.choices, a)} note",
            "Signed" if signed else "Draft",
            "" if signed else "draft",
        )
    if kind == "group_note":
        signed = _truthy(b)
        return f"Group note: {a}", "Signed" if signed else "Draft", "" if signed else "draft"
    if kind == "measure":
        name = instruments.DEFINITIONS[a].name if a in instruments.DEFINITIONS else str(a)
        return name, f"Score {b}" if b not in (None, "") else "", ""
    if kind == "drug_test":
        unexpected = _truthy(b)
        return (
            f"Drug test ({_choice(DrugTest.Specimen.choices, a).lower()})",
            "Unexpected result" if unexpected else "No unexpected result",
            "unexpected" if unexpected else "",
        )
    if kind == "meeting":
        return recovery_rules.FELLOWSHIPS.get(a, str(a)), f"{b} minutes", ""
    if kind == "relapse":
        return "Relapse", _substances(b), "relapse"
    if kind == "sobriety":
        return (
            f"Sobriety date set to {_day(a):%m/%d/%Y}",
            _choice(SobrietyDate.Reason.choices, b),
            "",
        )
    if kind == "plan":
        return f"Treatment plan version {a} in force", "", ""
    if kind == "review":
        return "Plan review", _choice(PlanReview.Decision.choices, a), ""
    if kind == "phase":
        return f"Phase: {a}", f"from {b}" if b else "", ""
    if kind == "admission":
        return "Admitted", str(a), ""
    if kind == "discharge":
        return "Discharged", str(a), ""
    if kind == "document":
        return "Document", str(a) or _choice(Attachment.Kind.choices, b), ""
    if kind == "alert":
        return (
            _choice(ClinicalAlert.Kind.choices, a),
            _choice(ClinicalAlert.Severity.choices, b),
            "urgent" if b == ClinicalAlert.Severity.URGENT else "",
        )
    return str(kind), "", ""


def parse_range(first: str, last: str) -> tuple[dt.date | None, dt.date | None, dict[str, str]]:
    """The ``from`` and ``to`` days asked for (blank: open-ended) and a message per bad one."""
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name, text in (("from", first.strip()), ("to", last.strip())):
        days[name] = parse_day(text) if text else None
        if text and days[name] is None:
            errors[name] = "Enter a date like 2026-03-02."
    start, end = days["from"], days["to"]
    if start and end and end < start:
        errors["to"] = "The end date is before the start date."
    return start, end, errors


def parse_categories(values: Iterable[str]) -> list[str] | None:
    """The categories asked for (unknown names ignored); none asked means all."""
    chosen = [v for v in values if v in CATEGORIES]
    return chosen or None
