"""Scoped reads of patient information. Every read of a chart leaves an audit record.

Scope (SPEC §10, minimum necessary):
- staff see only patients of their own facilities;
- caseload roles (clinicians, case managers) see only patients they have a care
  relationship with — the care team now, and whatever later capabilities register
  (episodes' primary clinician, groups they run) through ``register_caseload_rule``;
- the auditor opens no chart at all;
- an active break-the-glass grant opens one chart, for a limited time, to one user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import CASELOAD_ROLES, FACILITY_WIDE_ROLES
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import rules
from openiop.patients.models import (
    BreakGlassGrant,
    CareTeamMember,
    Patient,
    PatientSearchToken,
)

CaseloadRule = Callable[[User], Q]
_caseload_rules: list[CaseloadRule] = []


def register_caseload_rule(rule: CaseloadRule) -> CaseloadRule:
    """Let a later capability add a relationship that puts patients on a caseload.

    The rule returns a Q over Patient (use ``pk__in=<subquery>`` to avoid duplicate rows).
    """
    _caseload_rules.append(rule)
    return rule


@register_caseload_rule
def _care_team(user: User) -> Q:
    return Q(
        pk__in=CareTeamMember.objects.filter(user=user, ended_on__isnull=True).values("patient_id")
    )


def _own_facilities(user: User) -> Q:
    return Q(facility__in=facilities_for(user).values("pk"))


def _granted_patient_ids(user: User) -> list[int]:
    """Patients this user holds an unexpired break-the-glass grant for (almost always none)."""
    return list(
        BreakGlassGrant.objects.filter(user=user, expires_at__gt=timezone.now())
        .order_by()
        .values_list("patient_id", flat=True)
        .distinct()
    )


def scope_q(user: User, *, include_break_glass: bool = True) -> Q | None:
    """The Q over Patient for what the user may see, or None for nothing.

    Break-the-glass grants are looked up first (one indexed query) and OR-ed in only when there
    are any: ``... OR pk IN (grants)`` keeps PostgreSQL from joining the other subqueries, so it
    filters every patient of the facility row by row (benchmarks/README.md).
    """
    if not user.is_authenticated or not user.is_active:
        return None
    q: Q | None = None
    if user.role in FACILITY_WIDE_ROLES:
        q = _own_facilities(user)
    elif user.role in CASELOAD_ROLES:
        related = Q()
        for rule in _caseload_rules:
            related |= rule(user)
        q = _own_facilities(user) & related
    if include_break_glass:
        granted = _granted_patient_ids(user)
        if granted:
            q = Q(pk__in=granted) if q is None else q | Q(pk__in=granted)
    return q


def visible_patients(user: User, *, include_break_glass: bool = True) -> QuerySet[Patient]:
    q = scope_q(user, include_break_glass=include_break_glass)
    if q is None:
        return Patient.objects.none()
    return Patient.objects.filter(q)


@dataclass(frozen=True)
class ChartAccess:
    patient: Patient
    grant: BreakGlassGrant | None

    @property
    def via_break_glass(self) -> bool:
        return self.grant is not None


def chart_access(user: User, patient_id: int, *, section: str, action: str = "view") -> ChartAccess:
    """The patient if the user may open this chart (else 404), audited as ``section``."""
    patient = (
        visible_patients(user, include_break_glass=False)
        .select_related("facility", "facility__organization")
        .filter(pk=patient_id)
        .first()
    )
    grant = None
    if patient is None:
        grant = (
            BreakGlassGrant.objects.select_related("patient__facility__organization")
            .filter(user=user, patient_id=patient_id, expires_at__gt=timezone.now())
            .order_by("-expires_at")
            .first()
            if user.is_authenticated
            else None
        )
        if grant is None:
            record(
                actor=user,
                action=AuditEvent.Action.DENIED,
                section=section,
                detail={"patient_id": patient_id},
            )
            raise Http404("No patient here.")
        patient = grant.patient
    record(
        actor=user,
        action=action,
        patient=patient,
        obj=patient,
        section=section,
        reason=grant.reason if grant else "",
        detail={"break_glass_grant": grant.pk} if grant else None,
    )
    return ChartAccess(patient=patient, grant=grant)


def _token_upper_bound(term: str) -> str | None:
    """The smallest string after every string starting with ``term`` (tokens are [0-9a-z]).

    A range on an ordinary index instead of LIKE 'x%', which PostgreSQL only indexes under the
    C collation; the bound never leaves [0-9a-z] so every collation orders it the same way.
    """
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = list(term)
    while chars:
        last = chars.pop()
        position = alphabet.find(last)
        if 0 <= position < len(alphabet) - 1:
            return "".join(chars) + alphabet[position + 1]
    return None


@dataclass(frozen=True)
class SearchResult:
    patients: list[Patient]
    more: bool
    kind: str  # "name", "date of birth" or "recent"


def search_patients(
    user: User, *, query: str, facility: Facility | None = None, limit: int = 50
) -> SearchResult:
    """Patients matching part of a name, a date of birth, an MRN or a phone number."""
    qs = visible_patients(user).select_related("facility")
    if facility is not None:
        qs = qs.filter(facility=facility)
    text = query.strip()
    born = rules.parse_date_query(text) if text else None
    kind = "recent"
    if born is not None:
        qs = qs.filter(date_of_birth=born)
        kind = "date of birth"
    elif text:
        kind = "name"
        terms = rules.query_terms(text)
        if not terms:
            qs = qs.none()
        for term in terms:
            tokens = PatientSearchToken.objects.filter(token__gte=term)
            upper = _token_upper_bound(term)
            if upper is not None:
                tokens = tokens.filter(token__lt=upper)
            qs = qs.filter(pk__in=tokens.values("patient_id"))
    if kind == "recent":
        qs = qs.order_by("-created_at", "-id")
    else:
        qs = qs.order_by("last_name", "first_name", "id")
    rows = list(qs[: limit + 1])
    record(
        actor=user,
        action=AuditEvent.Action.SEARCH,
        facility_id=facility.pk if facility else None,
        section="patient search",
        detail={"kind": kind, "results": min(len(rows), limit)},
    )
    return SearchResult(patients=rows[:limit], more=len(rows) > limit, kind=kind)


def likely_duplicates(
    user: User,
    *,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date,
    exclude_pk: int | None = None,
) -> list[Patient]:
    """Visible patients born the same day whose names look alike (cheap: birth date is indexed)."""
    candidates = visible_patients(user, include_break_glass=False).filter(
        date_of_birth=date_of_birth
    )
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    return [
        p
        for p in candidates.select_related("facility")[:50]
        if rules.names_look_alike(first_name, last_name, p.first_name, p.last_name)
        or rules.names_look_alike(first_name, last_name, p.preferred_name, p.last_name)
    ]


def facility_census(user: User, facility: Facility) -> dict[str, int]:
    """Counts for the home page, computed in one aggregate query."""
    week_ago = timezone.now() - dt.timedelta(days=7)
    qs = visible_patients(user, include_break_glass=False).filter(facility=facility)
    status = Patient.Status
    return qs.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=status.ACTIVE)),
        prospective=Count("id", filter=Q(status=status.PROSPECTIVE)),
        on_hold=Count("id", filter=Q(status=status.ON_HOLD)),
        discharged=Count("id", filter=Q(status=status.DISCHARGED)),
        new_this_week=Count("id", filter=Q(created_at__gte=week_ago)),
    )


def my_caseload(user: User, facility: Facility | None = None) -> QuerySet[Patient]:
    qs = Patient.objects.filter(_care_team(user)).select_related("facility")
    if facility is not None:
        qs = qs.filter(facility=facility)
    return qs.order_by("last_name", "first_name")


def recently_opened(user: User, *, limit: int = 8) -> list[Patient]:
    """The charts this user opened last, still in scope, newest first (two queries).

    Only chart openings count (chart_access records the patient as the object); a list
    that audits each patient it shows (a report, a roster) opens no chart.
    """
    ids: list[int] = []
    for pid in (
        AuditEvent.objects.filter(
            actor=user,
            action=AuditEvent.Action.VIEW,
            patient__isnull=False,
            object_type="patients.patient",
        )
        .order_by("-at", "-id")
        .values_list("patient_id", flat=True)[:100]
    ):
        if pid not in ids:
            ids.append(pid)
        if len(ids) == limit:
            break
    found = {p.pk: p for p in visible_patients(user).filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def break_glass_for_review(user: User) -> QuerySet[BreakGlassGrant]:
    """Break-the-glass grants at the reviewer's facilities, unreviewed first."""
    if not user.reviews_break_glass:
        return BreakGlassGrant.objects.none()
    opened = (
        AuditEvent.objects.filter(
            actor_id=OuterRef("user_id"),
            patient_id=OuterRef("patient_id"),
            action__in=[AuditEvent.Action.VIEW, AuditEvent.Action.PRINT],
            at__gte=OuterRef("created_at"),
            at__lte=OuterRef("expires_at"),
        )
        .order_by()
        .values("actor_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        BreakGlassGrant.objects.filter(patient__facility__in=facilities_for(user).values("pk"))
        .select_related("user", "patient", "patient__facility", "reviewed_by")
        .annotate(pages_opened=Coalesce(Subquery(opened, output_field=IntegerField()), 0))
        .order_by(F("reviewed_at").asc(nulls_first=True), "-created_at")
    )


def care_team(patient: Patient) -> QuerySet[CareTeamMember]:
    return patient.care_team.filter(ended_on__isnull=True).select_related("user")
