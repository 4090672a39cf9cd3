"""Who may do what with the IOP week (SPEC §1, §10 minimum necessary).

- Everyone on staff but the auditor sees the facility's calendar of groups; patients'
  names appear only for patients they may see.
- Clinical directors, supervisors and administrators keep the group catalog, the rooms
  and the schedules; they and the facilitators change a session (cancel, move, cover).
- The clinical team enrolls patients; the clinical team and the front desk book
  appointments and record attendance.
- Dose figures are clinical and billing information: the clinical team, billing and
  administrators read them.
- A facilitator sees the patients on the rosters of the groups they run (a caseload rule).
"""

from __future__ import annotations

import rules
from django.db.models import Q

from openiop.accounts.models import User
from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, NO_CHART_ROLES, Role
from openiop.patients.selectors import register_caseload_rule

CATALOG_ROLES = frozenset({Role.CLINICAL_DIRECTOR, Role.CLINICAL_SUPERVISOR, Role.ADMINISTRATOR})
CALENDAR_ROLES = frozenset(set(Role) - set(NO_CHART_ROLES))
ENROLL_ROLES = CLINICAL_ROLES
DESK_ROLES = CLINICAL_ROLES | {Role.FRONT_DESK}
DOSE_ROLES = CLINICAL_ROLES | {Role.BILLING, Role.ADMINISTRATOR}
SESSION_ROLES = CATALOG_ROLES | CLINICAL_ROLES

sees_calendar = _role_in("sees_calendar", CALENDAR_ROLES)
keeps_catalog = _role_in("keeps_group_catalog", CATALOG_ROLES)
changes_sessions = _role_in("changes_sessions", SESSION_ROLES)
enrolls = _role_in("enrolls_patients", ENROLL_ROLES)
books = _role_in("books_appointments", DESK_ROLES)
records_attendance = _role_in("records_attendance", DESK_ROLES)
reads_dose = _role_in("reads_dose", DOSE_ROLES)

rules.add_perm("scheduling.view_schedule", sees_calendar)
rules.add_perm("scheduling.change_grouptype", keeps_catalog)
rules.add_perm("scheduling.change_session", changes_sessions)
rules.add_perm("scheduling.add_enrollment", enrolls)
rules.add_perm("scheduling.change_appointment", books)
rules.add_perm("scheduling.change_attendance", records_attendance)
rules.add_perm("scheduling.view_dose", reads_dose)


@register_caseload_rule
def _group_rosters(user: User) -> Q:
    """Patients on the roster of a group the user runs, co-runs or covers a session of,
    within two weeks either side of today (attendance is recorded after the group). A day
    more each way, because "today" is the request's facility day or UTC's in a job."""
    import datetime as dt

    from django.utils import timezone

    from openiop.scheduling.models import Enrollment, Schedule, Session

    today = timezone.localdate()
    near = (today - dt.timedelta(days=15), today + dt.timedelta(days=15))
    runs = Schedule.objects.filter(Q(facilitator=user) | Q(co_facilitator=user)).values("pk")
    covers = Session.objects.filter(
        Q(facilitator=user) | Q(co_facilitator=user), service_date__range=near
    ).values("schedule_id")
    return Q(
        pk__in=Enrollment.objects.filter(Q(schedule__in=runs) | Q(schedule__in=covers))
        .filter(start_date__lte=near[1])
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=near[0]))
        .values("patient_id")
    )
