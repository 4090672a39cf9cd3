"""Scoped reads of administrations and schedules. The chart itself is opened by
``chart_access`` (404 out of scope, audited); the chart readers here read what belongs to a
chart already opened. The due list reads many patients: it is scoped by ``visible_patients``
and its caller audits the patients it shows (``record_list``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    DateField,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Greatest, TruncDate
from django.http import Http404

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.measures import instruments, rules
from openiop.measures.models import Administration, InstrumentSchedule
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients

# The tab reads at most this many administrations of one patient (newest first).
CHART_LIMIT = 1000
REFUSED = (
    "Instrument results are for the clinical team and admissions. Your role does not open "
    "them; ask the patient's clinician if you need something from here."
)


def require_reader(user: User) -> None:
    if not user.can("measures.view_administration"):
        raise PermissionDenied(REFUSED)


def require_giver(user: User) -> None:
    if not user.can("measures.add_administration"):
        raise PermissionDenied("Only the clinical team and admissions give instruments.")


DUE_REFUSED = (
    "The list of instruments due is for the clinical team. Ask a clinician or the clinical "
    "director if you need something from it."
)


def require_scheduler(user: User) -> None:
    if not user.can("measures.change_schedule"):
        raise PermissionDenied(
            "Only the clinical team changes which instruments are repeated and how often."
        )


def require_due_reader(user: User) -> None:
    if not user.can("measures.view_due"):
        raise PermissionDenied(DUE_REFUSED)


def _with_people(qs: QuerySet[Administration]) -> QuerySet[Administration]:
    return qs.select_related("administered_by", "entered_by", "entered_in_error_by")


def administrations_of(patient: Patient) -> QuerySet[Administration]:
    return _with_people(Administration.objects.filter(patient=patient)).order_by(
        "-administered_at", "-id"
    )


def administration_of(patient: Patient, pk: int) -> Administration:
    """One administration of a chart already opened (404 when it belongs to another)."""
    row = (
        _with_people(Administration.objects.filter(patient=patient, pk=pk))
        .select_related("corrects")
        .first()
    )
    if row is None:
        raise Http404("No such result on this chart.")
    row.patient = patient
    return row


@dataclass
class InstrumentSummary:
    definition: instruments.Instrument
    latest: Administration | None = None
    history: list[Administration] = field(default_factory=list)
    progress: rules.Progress | None = None

    @property
    def given(self) -> int:
        return sum(1 for a in self.history if not a.entered_in_error)


def chart_summary(patient: Patient, *, since: dt.datetime | None = None) -> list[InstrumentSummary]:
    """Per instrument (in the instruments' order): the latest valid result, the history (errors
    included, struck through) and, for the PHQ-9, the change from the first one (the first
    one given ``since``, the start of the stay, when given). One query."""
    rows = list(administrations_of(patient)[:CHART_LIMIT])
    summaries = {code: InstrumentSummary(d) for code, d in instruments.DEFINITIONS.items()}
    for row in rows:
        row.patient = patient
        summary = summaries[row.instrument]
        summary.history.append(row)
        if summary.latest is None and not row.entered_in_error:
            summary.latest = row
    phq9 = summaries["phq9"]
    valid = [
        a
        for a in phq9.history
        if not a.entered_in_error
        and a.total is not None
        and (since is None or a.administered_at >= since)
    ]
    if len(valid) >= 2:
        phq9.progress = rules.phq9_progress(valid[-1].total or 0, valid[0].total or 0)
    return list(summaries.values())


# --- schedules and when each instrument is next due ----------------------------------------------


class AddDays(Func):
    """``date + n`` days, ``n`` an integer column: the same answer on PostgreSQL (date + integer
    is a date) and SQLite (its date() function)."""

    arity = 2
    output_field = DateField()
    template = "(%(expressions)s)"
    arg_joiner = " + "

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
            **extra_context,
        )


def last_given_at(patient_ref: str = "episode__patient_id") -> Subquery:
    """When the outer row's instrument was last given to its patient (a valid result)."""
    return Subquery(
        Administration.objects.filter(
            patient_id=OuterRef(patient_ref),
            instrument=OuterRef("instrument"),
            entered_in_error_at__isnull=True,
        )
        .order_by("-administered_at")
        .values("administered_at")[:1]
    )


def with_next_due(
    qs: QuerySet[InstrumentSchedule], zone: zoneinfo.ZoneInfo
) -> QuerySet[InstrumentSchedule]:
    """``last_given`` (the facility's date) and ``next_due``, computed in the database exactly
    as ``rules.next_due`` does (tests compare the two)."""
    return qs.annotate(
        last_given_at=last_given_at(),
        last_given=TruncDate("last_given_at", tzinfo=zone),
        next_due=Case(
            When(last_given_at__isnull=True, then=F("starts_on")),
            default=Greatest(F("starts_on"), AddDays(F("last_given"), F("every_days"))),
            output_field=DateField(),
        ),
    )


@dataclass(frozen=True)
class DueRow:
    """One active schedule with when it is next due (from the database's annotations)."""

    schedule: InstrumentSchedule
    due_on: dt.date
    last_given: dt.date | None
    today: dt.date

    @property
    def episode(self) -> EpisodeOfCare:
        return self.schedule.episode

    @property
    def definition(self) -> instruments.Instrument:
        return self.schedule.definition

    @property
    def is_due(self) -> bool:
        return rules.is_due(self.due_on, self.today)

    @property
    def is_overdue(self) -> bool:
        return rules.is_overdue(self.due_on, self.today)

    @property
    def days_overdue(self) -> int:
        return rules.days_overdue(self.due_on, self.today)

    @property
    def due_words(self) -> str:
        return rules.due_words(self.due_on, self.today)


def due_rows(schedules: Iterable[InstrumentSchedule], today: dt.date) -> list[DueRow]:
    """Rows of a queryset annotated by ``with_next_due``."""
    rows = []
    for s in schedules:
        data: Any = s
        rows.append(DueRow(s, data.next_due, data.last_given, today))
    return rows


def open_episodes_in_scope(user: User, facility: Facility) -> QuerySet[EpisodeOfCare]:
    """Episodes in treatment at ``facility`` of patients the user may see (no break-the-glass:
    a list never shows a chart opened in an emergency)."""
    return EpisodeOfCare.objects.filter(
        facility=facility,
        discharge_date__isnull=True,
        patient__in=visible_patients(user, include_break_glass=False).values("pk"),
    )


def due_list(
    user: User, facility: Facility, today: dt.date, *, overdue_only: bool = False
) -> QuerySet[InstrumentSchedule]:
    """Active schedules of people in treatment at ``facility`` in the user's scope whose
    instrument is due today or overdue, the longest overdue first. One query, whatever the
    number of patients or results; wrap the rows with ``due_rows``."""
    if not user.can("measures.view_due"):
        return InstrumentSchedule.objects.none()
    qs = with_next_due(
        InstrumentSchedule.objects.filter(
            stopped_at__isnull=True,
            episode__in=open_episodes_in_scope(user, facility).values("pk"),
        ),
        facility.zone,
    ).select_related("episode__patient", "episode__primary_clinician")
    qs = qs.filter(Q(next_due__lt=today) if overdue_only else Q(next_due__lte=today))
    return qs.order_by(
        "next_due",
        "episode__patient__last_name",
        "episode__patient__first_name",
        "episode__patient_id",
        "instrument",
    )


def schedules_of(episode: EpisodeOfCare, today: dt.date) -> list[DueRow]:
    """The episode's active schedules with when each is next due (soonest first). One query."""
    qs = with_next_due(
        InstrumentSchedule.objects.filter(episode=episode, stopped_at__isnull=True),
        episode.facility.zone,
    ).select_related("created_by")
    rows = due_rows(qs, today)
    order = list(instruments.DEFINITIONS)
    return sorted(rows, key=lambda r: (r.due_on, order.index(r.schedule.instrument)))


def stopped_schedules_of(episode: EpisodeOfCare) -> QuerySet[InstrumentSchedule]:
    return (
        InstrumentSchedule.objects.filter(episode=episode, stopped_at__isnull=False)
        .select_related("created_by", "stopped_by")
        .order_by("-stopped_at", "-id")
    )


def schedule_of(episode: EpisodeOfCare, pk: int) -> InstrumentSchedule:
    """One schedule of an episode already opened (404 when it belongs to another)."""
    row = InstrumentSchedule.objects.filter(episode=episode, pk=pk).first()
    if row is None:
        raise Http404("No such schedule on this chart.")
    row.episode = episode
    return row


def schedules_for_patient(patient: Patient) -> QuerySet[InstrumentSchedule]:
    """Every schedule of every episode of a chart already opened (for the API)."""
    return (
        InstrumentSchedule.objects.filter(episode__patient=patient)
        .select_related("episode", "created_by", "stopped_by")
        .order_by("-episode__admission_date", "instrument", "-created_at", "-id")
    )


# --- trends --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    administration_id: int
    given_at: dt.datetime
    given_on: dt.date
    values: dict[str, int]  # series key → value: "total", or the BAM's subscales
    numbers: tuple[int, ...]  # the same values in the trend's series order (for the table)
    band: str
    baseline: bool = False
    latest: bool = False
    response: bool = False
    remission: bool = False

    @property
    def note(self) -> str:
        """ "Baseline", "Latest · remission", "Response"… (the table's last column)."""
        words = []
        if self.baseline:
            words.append("Baseline")
        elif self.latest:
            words.append("Latest")
        if self.remission:
            words.append("remission" if words else "Remission")
        elif self.response:
            words.append("response" if words else "Response")
        return " · ".join(words)


@dataclass(frozen=True)
class Trend:
    """One instrument over one stay: the points, the severity bands, the baseline (the first
    result of the stay), the latest, and response and remission where SPEC §6 defines them."""

    definition: instruments.Instrument
    series: tuple[tuple[str, str], ...]  # (key, label)
    y_max: int
    points: tuple[TrendPoint, ...]
    progress: rules.Progress | None
    episode_id: int | None

    @property
    def code(self) -> str:
        return self.definition.code

    @property
    def baseline(self) -> TrendPoint:
        return self.points[0]

    @property
    def latest(self) -> TrendPoint:
        return self.points[-1]

    @property
    def latest_values(self) -> list[tuple[str, int]]:
        """(label, value) of each series at the latest result."""
        return [(label, self.latest.values[key]) for key, label in self.series]

    @property
    def response(self) -> bool | None:
        """None where SPEC §6 defines no response (everything but the PHQ-9) or with one point."""
        return self.progress.response if self.progress else None

    @property
    def remission(self) -> bool | None:
        return self.progress.remission if self.progress else None

    @property
    def bands(self) -> list[dict[str, Any]]:
        return _bands(self.definition)

    @property
    def summary(self) -> str:
        """One sentence a screen reader reads for the chart."""
        name = self.definition.name
        first, last = self.baseline, self.latest
        if len(self.series) > 1:
            words = ", ".join(f"{label} {last.values[key]}" for key, label in self.series)
            return (
                f"{name}: {len(self.points)} given this stay; latest {last.given_on:%m/%d/%Y}: "
                f"{words}."
            )
        text = (
            f"{name}: {len(self.points)} given this stay, from {first.values['total']} on "
            f"{first.given_on:%m/%d/%Y} to {last.values['total']} on {last.given_on:%m/%d/%Y}"
        )
        if self.progress is not None:
            if self.progress.remission:
                text += ": remission"
            elif self.progress.response:
                text += ": response"
        return text + "."

    def as_data(self) -> dict[str, Any]:
        """What the chart script and the API read (no names: numbers, dates and bands)."""
        return {
            "instrument": self.code,
            "name": self.definition.name,
            "episode": self.episode_id,
            "series": [{"key": k, "label": label} for k, label in self.series],
            "y_max": self.y_max,
            "bands": self.bands,
            "points": [
                {
                    "administration": p.administration_id,
                    "given_at": p.given_at.isoformat(),
                    "date": p.given_on.isoformat(),
                    "values": p.values,
                    "band": p.band,
                    "baseline": p.baseline,
                    "latest": p.latest,
                    "response": p.response,
                    "remission": p.remission,
                }
                for p in self.points
            ],
            "baseline": self.baseline.values,
            "latest": self.latest.values,
            "percent_drop": self.progress.percent_drop if self.progress else None,
            "change_words": self.progress.change_words if self.progress else "",
            "response": self.response,
            "remission": self.remission,
            "summary": self.summary,
        }


def _bands(definition: instruments.Instrument) -> list[dict[str, Any]]:
    """The bands with a range of totals, each with how it is shown (for the band fills)."""
    return [
        {"name": b.name, "low": b.low, "high": b.high, "tone": _tone(b.name)}
        for b in definition.bands
        if b.low is not None and b.high is not None
    ]


def _tone(band: str) -> str:
    if band in instruments.URGENT_BANDS:
        return "danger"
    if band in instruments.CONCERN_BANDS:
        return "warn"
    return "ok" if band in instruments.CLEAR_BANDS else "neutral"


def charted(definition: instruments.Instrument) -> bool:
    """Instruments with a number to follow: a total, or subscales (BAM). The C-SSRS screener is
    a triage (no number) and is followed in its history table only."""
    return definition.total_range is not None or bool(definition.subscales)


def _series(definition: instruments.Instrument) -> tuple[tuple[str, str], ...]:
    if definition.total_range is not None:
        return (("total", "Total"),)
    return tuple((key, instruments.SUBSCALE_TITLES.get(key, key)) for key in definition.subscales)


def _y_max(definition: instruments.Instrument) -> int:
    if definition.total_range is not None:
        return definition.total_range[1]
    # Subscales are sums of 0–4 answers.
    return 4 * max(len(items) for items in definition.subscales.values())


def stay_of(patient: Patient) -> EpisodeOfCare | None:
    """The stay a trend follows: the open episode, else the latest one."""
    return (
        EpisodeOfCare.objects.filter(patient=patient)
        .select_related("facility")
        .order_by(F("discharge_date").desc(nulls_first=True), "-admission_date", "-pk")
        .first()
    )


def stay_start(episode: EpisodeOfCare, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first moment of the admission day, in the facility's time zone."""
    return dt.datetime.combine(episode.admission_date, dt.time.min, tzinfo=zone)


def _window(episode: EpisodeOfCare | None, zone: zoneinfo.ZoneInfo) -> Q:
    if episode is None:
        return Q()
    q = Q(administered_at__gte=stay_start(episode, zone))
    if episode.discharge_date is not None:
        end = dt.datetime.combine(
            episode.discharge_date + dt.timedelta(days=1), dt.time.min, tzinfo=zone
        )
        q &= Q(administered_at__lt=end)
    return q


def _build(
    definition: instruments.Instrument,
    rows: list[Administration],
    episode: EpisodeOfCare | None,
    zone: zoneinfo.ZoneInfo,
) -> Trend:
    """``rows``: valid results of one instrument, oldest first (at least one)."""
    series = _series(definition)
    base_row = rows[0]
    points = []
    for n, row in enumerate(rows):
        if definition.total_range is not None:
            values = {"total": row.total or 0}
        else:
            values = {key: int(row.subscales.get(key, 0)) for key, _ in series}
        change = (
            rules.progress(definition.code, base_row.total or 0, row.total or 0)
            if n > 0 and definition.total_range is not None
            else None
        )
        points.append(
            TrendPoint(
                administration_id=row.pk,
                given_at=row.administered_at,
                given_on=row.administered_at.astimezone(zone).date(),
                values=values,
                numbers=tuple(values[key] for key, _ in series),
                band=row.band,
                baseline=n == 0,
                latest=n == len(rows) - 1,
                response=bool(change and change.response),
                remission=bool(change and change.remission),
            )
        )
    progress = None
    if len(rows) >= 2 and definition.total_range is not None:
        progress = rules.progress(definition.code, base_row.total or 0, rows[-1].total or 0)
    return Trend(
        definition=definition,
        series=series,
        y_max=_y_max(definition),
        points=tuple(points),
        progress=progress,
        episode_id=episode.pk if episode else None,
    )


def empty_trend_data(
    definition: instruments.Instrument, episode: EpisodeOfCare | None
) -> dict[str, Any]:
    """``Trend.as_data`` for an instrument not given during the stay."""
    return {
        "instrument": definition.code,
        "name": definition.name,
        "episode": episode.pk if episode else None,
        "series": [{"key": k, "label": label} for k, label in _series(definition)],
        "y_max": _y_max(definition),
        "bands": _bands(definition),
        "points": [],
        "baseline": None,
        "latest": None,
        "percent_drop": None,
        "change_words": "",
        "response": None,
        "remission": None,
        "summary": f"{definition.name}: not given this stay.",
    }


def trends(
    patient: Patient, episode: EpisodeOfCare | None, *, only: str | None = None
) -> list[Trend]:
    """Every charted instrument (or ``only`` that one) given during ``episode`` (all results
    when there is none), in the instruments' order; results entered in error left out.
    One query."""
    zone = patient.facility.zone
    codes = [
        code
        for code, d in instruments.DEFINITIONS.items()
        if charted(d) and (only is None or code == only)
    ]
    rows = list(
        Administration.objects.filter(
            _window(episode, zone),
            patient=patient,
            instrument__in=codes,
            entered_in_error_at__isnull=True,
        )
        .only("pk", "instrument", "administered_at", "total", "band", "subscales")
        .order_by("administered_at", "id")
    )
    by_code: dict[str, list[Administration]] = {}
    for row in rows:
        by_code.setdefault(row.instrument, []).append(row)
    return [
        _build(instruments.DEFINITIONS[code], by_code[code], episode, zone)
        for code in codes
        if code in by_code
    ]


def trend(patient: Patient, code: str, episode: EpisodeOfCare | None) -> Trend | None:
    """One instrument's trend over ``episode`` (None when it was not given then)."""
    found = trends(patient, episode, only=code)
    return found[0] if found else None
