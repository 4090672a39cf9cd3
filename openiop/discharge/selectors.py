"""Scoped reads of discharge and continuing care.

The chart tab opens the chart through ``openiop.patients.selectors.chart_access`` (404 out of
scope, audited); the role is checked first here (403, and the refusal audited). Everything
the tab shows is read in a constant number of queries, whatever the number of episodes,
changes of level, referrals or follow-ups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Count
from django.utils import timezone

from openiop.accounts.models import Program, Track, User
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.rules import StayProgress, stay_progress
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core import teds
from openiop.discharge.models import Discharge, FollowUp, LevelOfCareChange, Referral
from openiop.discharge.readiness import Readiness, readiness
from openiop.patients.models import Patient

__all__ = [
    "REFUSED",
    "DischargeChart",
    "LevelPeriod",
    "chart",
    "discharge_of",
    "followup_summary",
    "level_history",
    "require_team",
]

REFUSED = "Discharge planning and continuing care are for the clinical team."


def require_team(
    user: User, *, section: str, patient_id: int | None = None, permission: str = ""
) -> None:
    """403 for a role outside the clinical team (or without ``permission``), the refusal
    audited; nothing of the chart is read."""
    needed = permission or "discharge.view_discharge"
    if user.can("discharge.view_discharge") and user.can(needed):
        return
    record(
        actor=user,
        action=AuditEvent.Action.DENIED,
        section=section,
        detail={"patient_id": patient_id, "permission": needed},
    )
    raise PermissionDenied(REFUSED)


def discharge_of(episode: EpisodeOfCare) -> Discharge | None:
    """The episode's discharge (read with ``select_related("discharge")``), or None."""
    try:
        return episode.discharge
    except ObjectDoesNotExist:
        return None


# --- level-of-care history ---------------------------------------------------------------------


@dataclass(frozen=True)
class LevelPeriod:
    """A stretch of the episode in one program: from admission or a transfer to the next
    transfer, the discharge or today."""

    program: Program
    level: str
    track: Track | None
    services: int
    start: dt.date
    end: dt.date  # the last day in this program so far
    days: int
    change: LevelOfCareChange | None  # the transfer that began it (None: the admission)
    current: bool

    @property
    def level_label(self) -> str:
        return str(Program.LevelOfCare(self.level).label)

    @property
    def services_label(self) -> str:
        return str(teds.Services(self.services).label)


_Where = tuple[Program, str, Track | None, int]  # program, level, track, TEDS SERVICES


def _changes(episode: EpisodeOfCare) -> list[LevelOfCareChange]:
    return list(
        LevelOfCareChange.objects.filter(episode=episode)
        .select_related("from_program", "to_program", "from_track", "to_track", "changed_by")
        .order_by("changed_on", "id")
    )


def level_history(episode: EpisodeOfCare, *, today: dt.date | None = None) -> list[LevelPeriod]:
    """The admission program, then each transfer, oldest first, with its dates and the days
    spent there; the days add up to the days in treatment (one continuous record). One
    query (the episode's program and track read with it)."""
    if today is None:
        today = timezone.localdate(timezone=episode.facility.zone)
    changes = _changes(episode)
    last = min(today, episode.discharge_date) if episode.discharge_date else today
    start: _Where
    if changes:
        first = changes[0]
        start = (first.from_program, first.from_level, first.from_track, first.from_services)
    else:
        start = (episode.program, episode.level_of_care, episode.track, episode.teds_services)
    stretches: list[tuple[_Where, dt.date, LevelOfCareChange | None]]
    stretches = [(start, episode.admission_date, None)]
    for made in changes:
        where = (made.to_program, made.to_level, made.to_track, made.to_services)
        stretches.append((where, made.changed_on, made))
    periods = []
    for n, ((program, level, track, services), begun, change) in enumerate(stretches):
        is_last = n == len(stretches) - 1
        if is_last:
            end = max(last, begun)
            days = max((last - begun).days + 1, 0)
        else:
            following = stretches[n + 1][1]
            end = following - dt.timedelta(days=1)
            days = (following - begun).days
        periods.append(
            LevelPeriod(
                program=program,
                level=level,
                track=track,
                services=services,
                start=begun,
                end=end,
                days=days,
                change=change,
                current=is_last and episode.is_open,
            )
        )
    return periods


# --- the chart tab -----------------------------------------------------------------------------


def followup_summary(followup: FollowUp) -> str:
    """A completed follow-up's outcomes in a line a counselor reads at a glance."""
    if followup.status != FollowUp.Status.COMPLETED:
        return ""
    parts: list[str] = []
    if followup.any_use is True:
        days = followup.days_used_30
        parts.append(
            "Some use since discharge"
            + (f", {days} day{'s' if days != 1 else ''} in the past 30" if days is not None else "")
        )
    elif followup.any_use is False:
        parts.append("No use since discharge")
    if followup.meetings_30 is not None:
        parts.append(f"{followup.meetings_30} meetings in 30 days")
    if followup.working_or_school is not None:
        parts.append("working or in school" if followup.working_or_school else "not working")
    if followup.housing:
        parts.append(followup.get_housing_display().lower())
    if followup.readmitted:
        parts.append("readmitted to treatment")
    return "; ".join(parts)


@dataclass
class DischargeChart:
    today: dt.date
    episode: EpisodeOfCare | None
    stay: StayProgress | None = None
    readiness: Readiness | None = None
    levels: list[LevelPeriod] = field(default_factory=list)
    discharge: Discharge | None = None
    referrals: list[Referral] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)
    earlier: list[Discharge] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.episode is not None and self.episode.is_open

    @property
    def is_early(self) -> bool:
        """Still short of (or discharged before) the 90-day minimum."""
        return self.stay is not None and not self.stay.reached_minimum

    @property
    def transferred(self) -> bool:
        return len(self.levels) > 1


def chart(patient: Patient, *, today: dt.date) -> DischargeChart:
    """Everything the Discharge & continuing care tab shows, for a chart the caller has
    opened: the open episode (else the most recent), its days in treatment, readiness,
    level-of-care history, discharge, referrals and follow-ups, and the earlier episodes'
    discharges. A constant number of queries."""
    episodes = list(
        EpisodeOfCare.objects.filter(patient=patient)
        .select_related(
            "facility",
            "program",
            "track",
            "primary_clinician",
            "discharge",
            "discharge__signed_by",
        )
        .order_by("-admission_date", "-id")
    )
    shown = next((e for e in episodes if e.is_open), episodes[0] if episodes else None)
    earlier = [d for e in episodes if e is not shown and (d := discharge_of(e)) is not None]
    if shown is None:
        return DischargeChart(today=today, episode=None, earlier=earlier)
    shown.patient = patient
    discharge = discharge_of(shown)
    return DischargeChart(
        today=today,
        episode=shown,
        stay=stay_progress(shown.days_in_treatment(today)),
        readiness=readiness(shown, today=today),
        levels=level_history(shown, today=today),
        discharge=discharge,
        referrals=list(
            Referral.objects.filter(episode=shown)
            .select_related("created_by")
            .order_by("created_at", "id")
        ),
        followups=list(
            FollowUp.objects.filter(episode=shown)
            .annotate(attempt_count=Count("attempts"))
            .order_by("due_on", "id")
        ),
        earlier=earlier,
    )
