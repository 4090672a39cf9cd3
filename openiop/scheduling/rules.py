"""Pure rules of the IOP week: recurrence in local time, the dose rule (SPEC §2), group
eligibility (SPEC §7), minutes attended and the attendance alerts.

No database, no request: these functions are tested at every boundary.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import overload

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from openiop.accounts.rules import DoseRules

AT_RISK_DAYS = 7  # no attendance for this many days puts a patient on the at-risk list
UNEXCUSED_IN_A_ROW = 2
HORIZON_DAYS = 26 * 7  # sessions exist this far ahead; the nightly job keeps it so
# A schedule makes at most this many sessions at once (a first day typed years too early
# would otherwise fill the calendar with thousands of sessions nobody held).
MAX_SESSIONS_AT_ONCE = 800
MINUTE = Decimal(60)


# --- recurrence --------------------------------------------------------------------------------

_ALLOWED_FREQ = {DAILY, WEEKLY, MONTHLY, YEARLY}
_FORBIDDEN_PARTS = ("DTSTART", "UNTIL", "COUNT", "BYHOUR", "BYMINUTE", "BYSECOND")


@dataclass(frozen=True)
class Occurrence:
    occurrence_date: dt.date
    starts_at: dt.datetime  # aware, in the facility's zone
    ends_at: dt.datetime


def rrule_error(text: str) -> str | None:
    """Why an RFC 5545 rule cannot be used, in plain words (None when it can)."""
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        return "Say how it repeats, for example FREQ=WEEKLY;BYDAY=MO,WE,FR."
    parts = {p.split("=", 1)[0].strip().upper() for p in text.split(";") if p}
    if "DTSTART" in text.upper():  # also "DTSTART:…" on a line of its own
        parts.add("DTSTART")
    for part in _FORBIDDEN_PARTS:
        if part in parts:
            if part in ("UNTIL", "COUNT"):
                return "Leave UNTIL and COUNT out of the rule; set the last day instead."
            if part == "DTSTART":
                return "Leave DTSTART out of the rule; set the first day and the time instead."
            return "Leave the time out of the rule; set the start time instead."
    if "\n" in text or ":" in text:
        return "Write the rule on one line, for example FREQ=WEEKLY;BYDAY=MO,WE,FR."
    if "FREQ" not in parts:
        return (
            "Start the rule with how often it repeats: FREQ=DAILY, WEEKLY, MONTHLY or YEARLY "
            "(for example FREQ=WEEKLY;BYDAY=MO,WE,FR)."
        )
    try:
        parsed = rrulestr(normalize_rrule(text), dtstart=dt.datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001
    except (ValueError, TypeError) as error:
        if any("=" not in p for p in normalize_rrule(text).split(";")):
            return "Write each part as NAME=VALUE, for example FREQ=WEEKLY;BYDAY=MO,WE,FR."
        return f"That is not a recurrence rule we can read ({error})."
    if not isinstance(parsed, rrule) or getattr(parsed, "_freq", None) not in _ALLOWED_FREQ:
        return "A group repeats daily, weekly, monthly or yearly."
    if getattr(parsed, "_interval", 1) < 1:  # INTERVAL=0 would never move on
        return "INTERVAL must be 1 or more (2 means every other week)."
    return None


def normalize_rrule(text: str) -> str:
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return ";".join(p.strip().upper() for p in text.split(";") if p.strip())


def localize(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """A wall-clock time on a day in the zone; a time skipped by the spring change moves
    forward by the gap (2:30 becomes 3:30), as clocks do."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(dt.UTC).astimezone(zone)


def expand(
    rule: str,
    *,
    start_date: dt.date,
    start_time: dt.time,
    minutes: int,
    zone: zoneinfo.ZoneInfo,
    window_start: dt.date,
    window_end: dt.date,
    end_date: dt.date | None = None,
) -> list[Occurrence]:
    """The occurrences of a rule from ``window_start`` to ``window_end`` (inclusive).

    The rule is expanded on naive local dates and each occurrence is placed in the zone
    afterwards, so 6 pm stays 6 pm on both sides of a daylight-saving change.
    """
    first = max(start_date, window_start)
    last = min(window_end, end_date) if end_date else window_end
    if last < first:
        return []
    recurrence = rrulestr(
        normalize_rrule(rule), dtstart=dt.datetime.combine(start_date, dt.time(0, 0))
    )
    days = recurrence.between(
        dt.datetime.combine(first, dt.time(0, 0)),
        dt.datetime.combine(last, dt.time(23, 59)),
        inc=True,
    )
    out = []
    for d in days:
        starts = localize(d.date(), start_time, zone)
        ends = (starts.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)).astimezone(zone)
        out.append(Occurrence(d.date(), starts, ends))
    return out


def weekly_minutes(
    rule: str, *, minutes: int, start_date: dt.date, end_date: dt.date | None, week_of: dt.date
) -> int:
    """Minutes a schedule gives in the week (Monday–Sunday) that holds ``week_of``."""
    monday = week_start(week_of)
    zone = zoneinfo.ZoneInfo("UTC")
    found = expand(
        rule,
        start_date=start_date,
        start_time=dt.time(12, 0),
        minutes=minutes,
        zone=zone,
        window_start=monday,
        window_end=monday + dt.timedelta(days=6),
        end_date=end_date,
    )
    return len(found) * minutes


def overlaps(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> bool:
    """Half-open intervals: a group that ends at 10:30 does not clash with one at 10:30."""
    return a[0] < b[1] and b[0] < a[1]


# --- dose (SPEC §2) ----------------------------------------------------------------------------


class WeekStatus(enum.StrEnum):
    MEETS = "meets"
    BELOW = "below"
    ABOVE = "above"

    @property
    def label(self) -> str:
        return WEEK_LABELS[self]


WEEK_LABELS = {
    WeekStatus.MEETS: "Meets the minimum",
    WeekStatus.BELOW: "Below the minimum",
    WeekStatus.ABOVE: "Above the maximum",
}


# Dates typed in forms and addresses are kept to these years, so week arithmetic never
# overflows and a typo does not make a century of sessions.
FIRST_YEAR, LAST_YEAR = 2000, 2100


@overload
def parse_day(text: object) -> dt.date | None: ...
@overload
def parse_day(text: object, default: dt.date) -> dt.date: ...
def parse_day(text: object, default: dt.date | None = None) -> dt.date | None:
    """A day written YYYY-MM-DD between FIRST_YEAR and LAST_YEAR, else ``default``."""
    if not isinstance(text, str) or not text.strip():
        return default
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return default
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else default


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week (Monday–Sunday) that holds ``day``."""
    return day - dt.timedelta(days=day.weekday())


def hours(minutes: int) -> Decimal:
    return Decimal(minutes) / MINUTE


def is_service_day(minutes: int, rules: DoseRules) -> bool:
    """At least ``min_hours_per_day`` attended that day; inclusive (3 h 00 counts, 2 h 59
    does not)."""
    return Decimal(minutes) >= rules.min_hours_per_day * MINUTE


def service_day_minutes(rules: DoseRules) -> int:
    """The smallest whole number of minutes that makes a service day (for SQL filters)."""
    threshold = rules.min_hours_per_day * MINUTE
    whole = int(threshold)
    return whole if whole == threshold else whole + 1


def week_status(attended_hours: Decimal, service_days: int, rules: DoseRules) -> WeekStatus:
    """A week meets the minimum with enough service days *and* hours (both inclusive:
    9.0 h meets, 8.98 h does not); above the program's maximum is flagged too."""
    if rules.max_hours_per_week is not None and attended_hours > rules.max_hours_per_week:
        return WeekStatus.ABOVE
    if service_days >= rules.min_days_per_week and attended_hours >= rules.min_hours_per_week:
        return WeekStatus.MEETS
    return WeekStatus.BELOW


def week_shortfall(attended_hours: Decimal, service_days: int, rules: DoseRules) -> str:
    """What a week below the minimum lacks, in plain words ("" when it meets it)."""
    short = []
    if service_days < rules.min_days_per_week:
        missing = rules.min_days_per_week - service_days
        short.append(f"{missing} more service day{'s' if missing != 1 else ''}")
    if attended_hours < rules.min_hours_per_week:
        gap = rules.min_hours_per_week - attended_hours
        short.append(f"{hours_text(gap)} more hours")
    return " and ".join(short)


def hours_text(value: Decimal) -> str:
    """Hours for people: 9 → "9", 8.5 → "8.5", 8.9833… → "8.98"."""
    rounded = value.quantize(Decimal("0.01"))
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def minutes_text(minutes: int) -> str:
    """179 → "2 h 59 min", 180 → "3 h", 45 → "45 min"."""
    h, m = divmod(minutes, 60)
    if h and m:
        return f"{h} h {m:02d} min"
    return f"{h} h" if h else f"{m} min"


# The usual length of each kind of appointment, used when no length is given.
USUAL_APPOINTMENT_MINUTES = {
    "individual": 50,
    "family": 50,
    "case_management": 30,
    "medication": 30,
    "drug_test": 15,
}
USUAL_APPOINTMENT_TEXT = (
    "50 minutes for individual or family therapy, 30 for case management or medication "
    "management, 15 for drug testing"
)


def appointment_minutes(kind: str, minutes: int | None) -> int:
    """The length asked for, or the usual one for the kind (50 for an unknown kind)."""
    return minutes if minutes is not None else USUAL_APPOINTMENT_MINUTES.get(kind, 50)


# --- attendance ----------------------------------------------------------------------------------

COUNTED = frozenset({"present", "late", "left_early"})
ABSENT = frozenset({"excused", "unexcused", "cancelled"})


def minutes_attended(
    status: str,
    *,
    session_start: dt.time,
    session_minutes: int,
    arrived: dt.time | None = None,
    left: dt.time | None = None,
) -> int:
    """The default minutes for a status: the full session when present, from arrival or
    to departure when times are given, none for an absence or a cancelled session."""
    if status in ABSENT:
        return 0
    start = _minute_of_day(session_start)
    end = start + session_minutes
    begin = max(start, _minute_of_day(arrived)) if arrived else start
    finish = min(end, _minute_of_day(left)) if left else end
    return max(0, min(session_minutes, finish - begin))


def _minute_of_day(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def attendance_errors(
    status: str,
    minutes: int | None,
    *,
    session_minutes: int,
    arrived: dt.time | None = None,
    left: dt.time | None = None,
) -> dict[str, str]:
    """Field → message for one line of attendance."""
    errors: dict[str, str] = {}
    if minutes is not None:
        if minutes < 0:
            errors["minutes"] = "Minutes attended cannot be negative."
        elif minutes > session_minutes:
            errors["minutes"] = (
                f"Minutes attended cannot be more than the session's {session_minutes} minutes."
            )
        elif status in ABSENT and minutes:
            errors["minutes"] = "An absence or a cancelled session counts no minutes."
    if arrived and left and left <= arrived:
        errors["left_at"] = "The time they left must be after the time they arrived."
    return errors


def unexcused_streak(statuses_latest_first: Sequence[str]) -> int:
    """How many unexcused absences in a row end the record. A cancelled session is
    skipped (nobody could come); anything else, an excused absence included, ends it."""
    n = 0
    for s in statuses_latest_first:
        if s == "cancelled":
            continue
        if s != "unexcused":
            break
        n += 1
    return n


def is_at_risk(days_since_last: int | None, days_in_treatment: int) -> bool:
    """No attendance for ``AT_RISK_DAYS`` days (or none at all after that long in care)."""
    if days_since_last is None:
        return days_in_treatment > AT_RISK_DAYS
    return days_since_last >= AT_RISK_DAYS


# --- eligibility (SPEC §7) -----------------------------------------------------------------------

WOMEN = frozenset({"woman", "trans_woman"})
MEN = frozenset({"man", "trans_man"})
MILITARY = frozenset({"veteran", "active_duty", "reserve"})


@dataclass(frozen=True)
class Person:
    """The self-identified, opt-in facts that decide who joins a specialized group."""

    gender_identity: str = ""
    veteran_status: str = ""
    lgbtq_opt_in: bool = False
    survivor_opt_in: bool = False


def eligibility_error(specialty: str, person: Person) -> str | None:
    """Why a person may not join a group of this specialty (None when they may)."""
    if specialty == "women" and person.gender_identity not in WOMEN:
        return (
            "This is a women's group: it needs the patient's gender identity recorded as a woman."
        )
    if specialty == "men" and person.gender_identity not in MEN:
        return "This is a men's group: it needs the patient's gender identity recorded as a man."
    if specialty == "veterans" and person.veteran_status not in MILITARY:
        return "This is a veterans' group: it needs the patient's veteran status recorded."
    if specialty == "lgbtq" and not person.lgbtq_opt_in:
        return (
            "This is an LGBTQ+ group: the patient has not chosen to join LGBTQ+ groups "
            "(record their choice on the registration first)."
        )
    if specialty == "survivors" and not person.survivor_opt_in:
        return (
            "This is a survivors' group: the patient has not chosen to join survivors' groups "
            "(record their choice on the registration first)."
        )
    return None


def phase_warning(accepted: Iterable[int], phase_id: int | None, phase_names: str) -> str | None:
    """A group for other phases warns (the clinician may enroll anyway, with a reason)."""
    accepted = set(accepted)
    if not accepted or (phase_id is not None and phase_id in accepted):
        return None
    if phase_id is None:
        return f"This group is for {phase_names}; the patient has no phase recorded."
    return f"This group is for {phase_names}; the patient is in another phase."


def track_warning(group_track: str | None, patient_track: str | None) -> str | None:
    if not group_track or not patient_track or group_track == patient_track:
        return None
    return (
        f"This group meets on the {group_track} track; the patient is on the {patient_track} track."
    )
