"""Scoped reads of inquiries and screenings. Opening one is audited; lists record a count only.

Scope: the user's own facilities only; pipeline roles see all of them, clinicians and medical
staff the inquiries they own, everyone else none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.intake import rules
from openiop.intake.models import ContactAttempt, Inquiry, Screening, Stage
from openiop.intake.permissions import OWNER_ROLES, PIPELINE_ROLES
from openiop.patients.models import Patient

SECTION = "inquiry"
# Admitted inquiries stay on the board this long, so the team sees who made it.
ADMITTED_ON_BOARD_DAYS = 30
BOARD_COLUMN_LIMIT = 50


def visible_inquiries(user: User) -> QuerySet[Inquiry]:
    if not user.is_authenticated or not user.is_active:
        return Inquiry.objects.none()
    own = Inquiry.objects.filter(facility__in=facilities_for(user).values("pk"))
    if user.role in PIPELINE_ROLES:
        return own
    if user.role in OWNER_ROLES:
        return own.filter(owner=user)
    return Inquiry.objects.none()


def with_contact_flag(qs: QuerySet[Inquiry]) -> QuerySet[Inquiry]:
    return qs.annotate(
        has_contact_attempt=Exists(ContactAttempt.objects.filter(inquiry=OuterRef("pk")))
    )


def inquiry_for(user: User, pk: int, *, action: str = AuditEvent.Action.VIEW) -> Inquiry:
    """One inquiry the user may see (else 404, the refusal audited), audited as ``action``."""
    inquiry = (
        with_contact_flag(visible_inquiries(user))
        .select_related("facility", "owner", "patient", "created_by")
        .filter(pk=pk)
        .first()
    )
    if inquiry is None:
        record(actor=user, action=AuditEvent.Action.DENIED, section=SECTION, detail={"id": pk})
        raise Http404("No inquiry here.")
    record(
        actor=user,
        action=action,
        patient=inquiry.patient_id,
        facility_id=inquiry.facility_id,
        obj=inquiry,
        section=SECTION,
    )
    return inquiry


def record_list_view(user: User, *, section: str, count: int, facility: Facility | None) -> None:
    record(
        actor=user,
        action=AuditEvent.Action.VIEW,
        facility_id=facility.pk if facility else None,
        section=section,
        detail={"results": count},
    )


def overdue_q(facility: Facility, today: dt.date) -> Q:
    """Inquiries of ``facility`` that are overdue (needs ``with_contact_flag``)."""
    cutoff_day = rules.new_overdue_before(today)
    cutoff = dt.datetime.combine(cutoff_day, dt.time.min, tzinfo=facility.zone)
    working = Q(stage__in=rules.WORKING)
    late_follow_up = Q(next_follow_up__lt=today)
    never_contacted = Q(stage=Stage.NEW, has_contact_attempt=False, created_at__lt=cutoff)
    return working & (late_follow_up | never_contacted)


def mark_overdue(inquiries: list[Inquiry], today: dt.date) -> list[Inquiry]:
    for inquiry in inquiries:
        created_on = timezone.localtime(inquiry.created_at, inquiry.facility.zone).date()
        inquiry.overdue = rules.is_overdue(  # type: ignore[attr-defined]
            stage=inquiry.stage,
            next_follow_up=inquiry.next_follow_up,
            created_on=created_on,
            has_contact_attempt=getattr(inquiry, "has_contact_attempt", True),
            today=today,
        )
    return inquiries


@dataclass
class Column:
    stage: str
    label: str
    count: int
    cards: list[Inquiry] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def board(user: User, facility: Facility) -> list[Column]:
    """One column per pipeline stage: a count and the first cards (oldest first)."""
    today = timezone.localdate(timezone=facility.zone)
    admitted_since = timezone.now() - dt.timedelta(days=ADMITTED_ON_BOARD_DAYS)
    base = visible_inquiries(user).filter(facility=facility)
    on_board = base.filter(
        Q(stage__in=rules.WORKING) | Q(stage=Stage.ADMITTED, admitted_at__gte=admitted_since)
    )
    counts = dict(
        on_board.order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    columns: list[Column] = []
    for stage in rules.PIPELINE:
        cards = list(
            with_contact_flag(on_board.filter(stage=stage))
            .select_related("owner", "facility")
            .order_by("next_follow_up", "created_at", "id")[:BOARD_COLUMN_LIMIT]
        )
        columns.append(
            Column(
                stage=stage,
                label=rules.STAGE_LABELS[stage],
                count=counts.get(stage, 0),
                cards=mark_overdue(cards, today),
            )
        )
    record_list_view(
        user,
        section="inquiry board",
        count=sum(len(c.cards) for c in columns),
        facility=facility,
    )
    return columns


def inquiry_list(
    user: User,
    facility: Facility,
    *,
    stage: str = "",
    owner: User | None = None,
    unowned: bool = False,
    overdue_only: bool = False,
) -> QuerySet[Inquiry]:
    """The filtered list (newest first); the caller pages it and calls ``record_list_view``."""
    today = timezone.localdate(timezone=facility.zone)
    qs = with_contact_flag(visible_inquiries(user).filter(facility=facility)).select_related(
        "owner", "facility"
    )
    if stage == "open":
        qs = qs.filter(stage__in=rules.WORKING)
    elif stage == "closed":
        qs = qs.filter(stage__in=rules.CLOSED)
    elif stage:
        qs = qs.filter(stage=stage)
    if owner is not None:
        qs = qs.filter(owner=owner)
    elif unowned:
        qs = qs.filter(owner__isnull=True)
    if overdue_only:
        qs = qs.filter(overdue_q(facility, today))
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class Conversion:
    start: dt.date
    end: dt.date
    inquiries: int
    admitted: int
    median_days: float | None

    @property
    def share(self) -> float | None:
        return self.admitted / self.inquiries if self.inquiries else None

    @property
    def share_percent(self) -> str:
        return "—" if self.share is None else f"{self.share * 100:.0f} %"


def conversion(user: User, facility: Facility, *, start: dt.date, end: dt.date) -> Conversion:
    """Inquiries created from ``start`` to ``end`` (facility dates, inclusive): how many were
    admitted, and the median days from inquiry to admission — computed in the database (a
    count, then the middle one or two of the ordered durations), never row by row."""
    zone = facility.zone
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    cohort = visible_inquiries(user).filter(
        facility=facility, created_at__gte=since, created_at__lt=until
    )
    figures = cohort.aggregate(
        n=Count("id"), admitted=Count("id", filter=Q(admitted_at__isnull=False))
    )
    admitted = int(figures["admitted"] or 0)
    median: float | None = None
    if admitted:
        durations = (
            cohort.filter(admitted_at__isnull=False)
            .annotate(
                took=ExpressionWrapper(
                    F("admitted_at") - F("created_at"), output_field=DurationField()
                )
            )
            .order_by("took", "id")
            .values_list("took", flat=True)
        )
        middle = (admitted - 1) // 2
        picked = list(durations[middle : middle + (1 if admitted % 2 else 2)])
        seconds = sum(d.total_seconds() for d in picked) / len(picked)
        median = round(seconds / 86400, 1)
    return Conversion(
        start=start,
        end=end,
        inquiries=int(figures["n"] or 0),
        admitted=admitted,
        median_days=median,
    )


def latest_inquiry_for_patient(patient: Patient) -> Inquiry | None:
    """The patient's most recent help request (for the admission form; no audit of its own)."""
    return Inquiry.objects.filter(patient=patient).order_by("-created_at", "-id").first()


def contact_log(inquiry: Inquiry) -> QuerySet[ContactAttempt]:
    return inquiry.contact_attempts.select_related("made_by").order_by("-made_at", "-id")


def stage_history(inquiry: Inquiry) -> QuerySet[Any]:
    return inquiry.stage_changes.select_related("changed_by").order_by("-changed_at", "-id")


def visible_screenings(user: User) -> QuerySet[Screening]:
    if not user.can("intake.view_screening"):
        return Screening.objects.none()
    return Screening.objects.filter(inquiry__in=visible_inquiries(user).values("pk"))


def screenings_of(user: User, inquiry: Inquiry) -> list[Screening]:
    """The inquiry's screenings, newest first (empty for roles that may not read them)."""
    if not user.can("intake.view_screening"):
        return []
    return list(
        Screening.objects.filter(inquiry=inquiry)
        .select_related("screened_by")
        .order_by("-screened_at", "-id")
    )


def owner_choices(facility: Facility) -> QuerySet[User]:
    """Staff of the facility who may own an inquiry."""
    return (
        User.objects.filter(
            is_active=True,
            facilities=facility,
            role__in=[*PIPELINE_ROLES, *OWNER_ROLES],
        )
        .distinct()
        .order_by("last_name", "first_name", "id")
    )
