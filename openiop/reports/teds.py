"""The TEDS files: admission (TEDS-A) and discharge (TEDS-D) records for a date range.

The layout, the source of every column and the validation rules are documented in
``docs/teds.md``; the coded values are SPEC §9 (``openiop.core.teds``), −9 for anything not
recorded. A record never carries the patient's name, MRN or date of birth: the client is
identified by a keyed hash of the patient's id (see ``client_id``).

A transfer inside an episode that changes the TEDS ``SERVICES`` (a ``LevelOfCareChange``
between, say, PHP/IOP and outpatient) is reported as TEDS expects it: a transfer discharge
(``REASON`` 4) from the old service and a new admission to the new one, on the day of the
change. The episode itself stays one continuous record in the chart.

Every read is a handful of queries whatever the size of the range (``values()`` streamed
with ``iterator``; the segment of each record comes from a subquery, not a query per row).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import heapq
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from django.conf import settings
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds as codes
from openiop.discharge.models import Discharge, LevelOfCareChange
from openiop.patients.models import Patient

Kind = Literal["A", "D"]
CHUNK = 2000
MISSING = codes.MISSING

# --- the layout ---------------------------------------------------------------------------------

A_COLUMNS: tuple[str, ...] = (
    "RECTYPE",
    "ADMTYPE",
    "PROVIDER",
    "CLIENTID",
    "CASEID",
    "ADMIT",
    "SERVICES",
    "PSOURCE",
    "NOPRIOR",
    "SUB1",
    "ROUTE1",
    "FREQ1",
    "FRSTUSE1",
    "SUB2",
    "ROUTE2",
    "FREQ2",
    "FRSTUSE2",
    "SUB3",
    "ROUTE3",
    "FREQ3",
    "FRSTUSE3",
    "EMPLOY",
    "LIVARAG",
    "ARRESTS",
    "EDUC",
    "MARSTAT",
    "FREQ_ATND_SELF_HELP",
    "PSYPROB",
    "METHUSE",
    "HLTHINS",
    "PRIMPAY",
    "AGE",
    "GENDER",
    "RACE",
    "ETHNIC",
    "VET",
)
D_COLUMNS: tuple[str, ...] = (
    "RECTYPE",
    "PROVIDER",
    "CLIENTID",
    "CASEID",
    "ADMIT",
    "SERVICES",
    "DISDATE",
    "REASON",
    "LOS",
    "SERVICES_D",
    "FREQ1_D",
    "FREQ2_D",
    "FREQ3_D",
    "EMPLOY_D",
    "LIVARAG_D",
    "ARRESTS_D",
    "FREQ_ATND_SELF_HELP_D",
)
COLUMNS: dict[Kind, tuple[str, ...]] = {"A": A_COLUMNS, "D": D_COLUMNS}

# TEDS-A column → EpisodeOfCare field (the admission form's TEDS section).
EPISODE_COLUMNS: dict[str, str] = {
    "PSOURCE": "referral_source",
    "NOPRIOR": "teds_noprior",
    **{f"{c}{n}": f"teds_{c.lower()}{n}" for n in (1, 2, 3) for c in ("SUB", "ROUTE", "FREQ")},
    **{f"FRSTUSE{n}": f"teds_frstuse{n}" for n in (1, 2, 3)},
    "EMPLOY": "teds_employ",
    "LIVARAG": "teds_livarag",
    "ARRESTS": "teds_arrests",
    "EDUC": "teds_educ",
    "MARSTAT": "teds_marstat",
    "FREQ_ATND_SELF_HELP": "teds_self_help",
    "PSYPROB": "teds_psyprob",
    "METHUSE": "teds_methuse",
    "HLTHINS": "teds_hlthins",
    "PRIMPAY": "teds_primpay",
}
# TEDS-D column → Discharge field (the discharge summary's TEDS section).
DISCHARGE_COLUMNS: dict[str, str] = {
    "FREQ1_D": "teds_freq1_d",
    "FREQ2_D": "teds_freq2_d",
    "FREQ3_D": "teds_freq3_d",
    "EMPLOY_D": "teds_employ_d",
    "LIVARAG_D": "teds_livarag_d",
    "ARRESTS_D": "teds_arrests_d",
    "FREQ_ATND_SELF_HELP_D": "teds_self_help_d",
}

# ADMTYPE (an OpenIOP column, see docs/teds.md): a first admission or a change of service.
ADMTYPE_INITIAL = 1
ADMTYPE_TRANSFER = 2

# --- validation: what a record must have -------------------------------------------------------

# Required in every admission record. ROUTE1, FREQ1 and FRSTUSE1 are not asked when SUB1 is
# 1 ("none"); a secondary or tertiary substance brings its own ROUTE, FREQ and FRSTUSE.
REQUIRED_A: tuple[str, ...] = (
    "SERVICES",
    "PSOURCE",
    "NOPRIOR",
    "SUB1",
    "ROUTE1",
    "FREQ1",
    "FRSTUSE1",
    "EMPLOY",
    "LIVARAG",
    "EDUC",
    "MARSTAT",
    "AGE",
    "GENDER",
)
# Required in every discharge record. The status at discharge (FREQ1_D, EMPLOY_D, LIVARAG_D,
# and FREQ2_D/FREQ3_D for a second or third substance at admission) is asked of the final
# discharge only: at a transfer inside the episode the chart records no discharge status.
REQUIRED_D: tuple[str, ...] = ("DISDATE", "REASON", "LOS", "FREQ1_D", "EMPLOY_D", "LIVARAG_D")
REQUIRED_D_TRANSFER: tuple[str, ...] = ("DISDATE", "REASON", "LOS")
SUBSTANCE_DETAIL = ("ROUTE", "FREQ", "FRSTUSE")
NO_SUBSTANCE = int(codes.Substance.NONE)

# The missing field in words, as the counselor finds it on the admission form, the patient's
# registration or the discharge summary.
WORDS: dict[str, str] = {
    "SERVICES": "type of service (SERVICES)",
    "PSOURCE": "referral source (PSOURCE)",
    "NOPRIOR": "prior treatment episodes (NOPRIOR)",
    "SUB1": "primary substance (SUB1)",
    "ROUTE1": "route of the primary substance (ROUTE1)",
    "FREQ1": "how often the primary substance was used (FREQ1)",
    "FRSTUSE1": "age at first use of the primary substance (FRSTUSE1)",
    "SUB2": "secondary substance (SUB2)",
    "ROUTE2": "route of the secondary substance (ROUTE2)",
    "FREQ2": "how often the secondary substance was used (FREQ2)",
    "FRSTUSE2": "age at first use of the secondary substance (FRSTUSE2)",
    "SUB3": "tertiary substance (SUB3)",
    "ROUTE3": "route of the tertiary substance (ROUTE3)",
    "FREQ3": "how often the tertiary substance was used (FREQ3)",
    "FRSTUSE3": "age at first use of the tertiary substance (FRSTUSE3)",
    "EMPLOY": "employment (EMPLOY)",
    "LIVARAG": "living arrangement (LIVARAG)",
    "ARRESTS": "arrests in the past 30 days (ARRESTS)",
    "EDUC": "education (EDUC)",
    "MARSTAT": "marital status (MARSTAT)",
    "AGE": "age at admission: date of birth on the registration, 12 or older (AGE)",
    "GENDER": "sex at birth, male or female, on the registration (GENDER)",
    "DISDATE": "discharge date (DISDATE)",
    "REASON": "reason for discharge (REASON)",
    "LOS": "length of stay (LOS)",
    "FREQ1_D": "primary substance, use in the past month at discharge (FREQ1_D)",
    "FREQ2_D": "secondary substance, use in the past month at discharge (FREQ2_D)",
    "FREQ3_D": "tertiary substance, use in the past month at discharge (FREQ3_D)",
    "EMPLOY_D": "employment at discharge (EMPLOY_D)",
    "LIVARAG_D": "living arrangement at discharge (LIVARAG_D)",
}
REGISTRATION_COLUMNS = frozenset({"AGE", "GENDER"})


def missing_fields(kind: Kind, row: Mapping[str, Any], *, transfer: bool = False) -> list[str]:
    """The required columns of a record that hold −9, in layout order (pure; docs/teds.md)."""
    if kind == "A":
        required = set(REQUIRED_A)
        if row.get("SUB1") == NO_SUBSTANCE:
            required -= {"ROUTE1", "FREQ1", "FRSTUSE1"}
        for n in (2, 3):
            if row.get(f"SUB{n}", MISSING) not in (MISSING, NO_SUBSTANCE):
                required |= {f"{c}{n}" for c in SUBSTANCE_DETAIL}
        return [c for c in A_COLUMNS if c in required and row.get(c, MISSING) == MISSING]
    if transfer:
        required = set(REQUIRED_D_TRANSFER)
    else:
        required = set(REQUIRED_D)
        substances = row.get("_substances", ())
        if substances and substances[0] == NO_SUBSTANCE:
            required.discard("FREQ1_D")
        for n, sub in enumerate(substances[1:], start=2):
            if sub not in (None, MISSING, NO_SUBSTANCE):
                required.add(f"FREQ{n}_D")
    return [c for c in D_COLUMNS if c in required and row.get(c, MISSING) == MISSING]


# --- codes that are not stored as TEDS codes -----------------------------------------------------

# TEDS AGE at admission, in the public-use-file groups: no date of birth leaves the program.
AGE_GROUPS: tuple[tuple[int, int], ...] = (
    (14, 1),
    (17, 2),
    (20, 3),
    (24, 4),
    (29, 5),
    (34, 6),
    (39, 7),
    (44, 8),
    (49, 9),
    (54, 10),
    (64, 11),
)
GENDER_CODES: dict[str, int] = {
    Patient.SexAtBirth.MALE.value: 1,
    Patient.SexAtBirth.FEMALE.value: 2,
}
# VET: only the two answers TEDS defines without doubt; active duty and the Reserve or
# National Guard are −9 (states count them differently; see docs/teds.md).
VET_CODES: dict[str, int] = {
    Patient.VeteranStatus.VETERAN.value: 1,
    Patient.VeteranStatus.NOT_VETERAN.value: 2,
}


def age_in_years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_code(born: dt.date | None, on: dt.date) -> int:
    """TEDS ``AGE`` group on the admission day; −9 without a date of birth or under 12."""
    if born is None:
        return MISSING
    years = age_in_years(born, on)
    if years < 12:
        return MISSING
    for upper, code in AGE_GROUPS:
        if years <= upper:
            return code
    return 12


def gender_code(sex_at_birth: str | None) -> int:
    return GENDER_CODES.get(sex_at_birth or "", MISSING)


def vet_code(status: str | None) -> int:
    return VET_CODES.get(status or "", MISSING)


def yyyymmdd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _pseudonym(message: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:16].upper()


def client_id(patient_id: int) -> str:
    """``CLIENTID``: the same 16 hex characters for the same person in every file, and
    nothing that leads back to them without the server's secret key (42 CFR Part 2,
    minimum necessary: the state links records, it does not need the MRN or the name)."""
    return _pseudonym(f"openiop-teds-client:{patient_id}")


def case_id(episode_id: int, admitted: dt.date) -> str:
    """``CASEID``: one treatment segment (an episode, or its part after a change of service),
    the key that pairs a discharge record with its admission record."""
    return _pseudonym(f"openiop-teds-case:{episode_id}:{admitted.isoformat()}")


# --- records -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """One TEDS record and, for the validation page only, whose chart it comes from."""

    kind: Kind
    transfer: bool
    day: dt.date  # ADMIT or DISDATE
    row: dict[str, Any]
    patient_id: int
    facility_id: int
    episode_id: int
    discharge_id: int | None = None
    person: dict[str, str] = field(default_factory=dict)  # name and MRN, when asked for

    @property
    def missing(self) -> list[str]:
        return missing_fields(self.kind, self.row, transfer=self.transfer)


NAME_FIELDS = ("first_name", "last_name", "preferred_name", "mrn")
PERSON_FIELDS = ("date_of_birth", "sex_at_birth", "veteran_status")


def _services_changes() -> QuerySet[LevelOfCareChange]:
    return LevelOfCareChange.objects.exclude(from_services=F("to_services"))


def _person(values: Mapping[str, Any], prefix: str, with_names: bool) -> dict[str, str]:
    if not with_names:
        return {}
    return {name: values[f"{prefix}{name}"] or "" for name in NAME_FIELDS}


def _a_row(
    values: Mapping[str, Any],
    prefix: str,
    *,
    admtype: int,
    admitted: dt.date,
    services: int | None,
    episode_id: int,
    patient_id: int,
    clients: dict[int, str],
) -> dict[str, Any]:
    if patient_id not in clients:
        clients[patient_id] = client_id(patient_id)
    row: dict[str, Any] = {
        "RECTYPE": "A",
        "ADMTYPE": admtype,
        "PROVIDER": values[f"{prefix}facility__code"],
        "CLIENTID": clients[patient_id],
        "CASEID": case_id(episode_id, admitted),
        "ADMIT": yyyymmdd(admitted),
        "SERVICES": codes.coded(services),
    }
    for column, name in EPISODE_COLUMNS.items():
        row[column] = codes.coded(values[f"{prefix}{name}"])
    row["AGE"] = age_code(values[f"{prefix}patient__date_of_birth"], admitted)
    row["GENDER"] = gender_code(values[f"{prefix}patient__sex_at_birth"])
    # Not recorded in the registration yet: always −9 (docs/teds.md).
    row["RACE"] = MISSING
    row["ETHNIC"] = MISSING
    row["VET"] = vet_code(values[f"{prefix}patient__veteran_status"])
    return row


def _a_fields(prefix: str, with_names: bool) -> list[str]:
    names = [
        f"{prefix}facility__code",
        f"{prefix}facility_id",
        f"{prefix}patient_id",
        *(f"{prefix}{name}" for name in EPISODE_COLUMNS.values()),
        *(f"{prefix}patient__{name}" for name in PERSON_FIELDS),
    ]
    if with_names:
        names += [f"{prefix}patient__{name}" for name in NAME_FIELDS]
    return names


def _admissions(
    facility_ids: Iterable[int], start: dt.date, end: dt.date
) -> QuerySet[EpisodeOfCare]:
    return EpisodeOfCare.objects.filter(
        facility_id__in=list(facility_ids), admission_date__range=(start, end)
    )


def _transfers(
    facility_ids: Iterable[int], start: dt.date, end: dt.date
) -> QuerySet[LevelOfCareChange]:
    return _services_changes().filter(
        episode__facility_id__in=list(facility_ids), changed_on__range=(start, end)
    )


def _discharges(facility_ids: Iterable[int], start: dt.date, end: dt.date) -> QuerySet[Discharge]:
    return Discharge.objects.filter(
        facility_id__in=list(facility_ids), discharge_date__range=(start, end)
    )


def _admission_records(
    facility_ids: Iterable[int], start: dt.date, end: dt.date, with_names: bool
) -> Iterator[Record]:
    first_change = _services_changes().filter(episode=OuterRef("pk")).order_by("changed_on", "id")
    rows = (
        _admissions(facility_ids, start, end)
        .annotate(first_services=Subquery(first_change.values("from_services")[:1]))
        .order_by("admission_date", "id")
        .values(
            "pk", "admission_date", "teds_services", "first_services", *_a_fields("", with_names)
        )
    )
    clients: dict[int, str] = {}
    for v in rows.iterator(chunk_size=CHUNK):
        # The first segment's service: before a change of service it is the change's "from".
        services = v["first_services"] if v["first_services"] is not None else v["teds_services"]
        yield Record(
            kind="A",
            transfer=False,
            day=v["admission_date"],
            row=_a_row(
                v,
                "",
                admtype=ADMTYPE_INITIAL,
                admitted=v["admission_date"],
                services=services,
                episode_id=v["pk"],
                patient_id=v["patient_id"],
                clients=clients,
            ),
            patient_id=v["patient_id"],
            facility_id=v["facility_id"],
            episode_id=v["pk"],
            person=_person(v, "patient__", with_names),
        )


def _transfer_admission_records(
    facility_ids: Iterable[int], start: dt.date, end: dt.date, with_names: bool
) -> Iterator[Record]:
    rows = (
        _transfers(facility_ids, start, end)
        .order_by("changed_on", "id")
        .values("episode_id", "changed_on", "to_services", *_a_fields("episode__", with_names))
    )
    clients: dict[int, str] = {}
    for v in rows.iterator(chunk_size=CHUNK):
        patient_id = v["episode__patient_id"]
        yield Record(
            kind="A",
            transfer=True,
            day=v["changed_on"],
            row=_a_row(
                v,
                "episode__",
                admtype=ADMTYPE_TRANSFER,
                admitted=v["changed_on"],
                services=v["to_services"],
                episode_id=v["episode_id"],
                patient_id=patient_id,
                clients=clients,
            ),
            patient_id=patient_id,
            facility_id=v["episode__facility_id"],
            episode_id=v["episode_id"],
            person=_person(v, "episode__patient__", with_names),
        )


def _d_row(
    *,
    provider: str,
    patient_id: int,
    episode_id: int,
    admitted: dt.date,
    services: int | None,
    discharged: dt.date,
    reason: int | None,
    clients: dict[int, str],
) -> dict[str, Any]:
    if patient_id not in clients:
        clients[patient_id] = client_id(patient_id)
    return {
        "RECTYPE": "D",
        "PROVIDER": provider,
        "CLIENTID": clients[patient_id],
        "CASEID": case_id(episode_id, admitted),
        "ADMIT": yyyymmdd(admitted),
        "SERVICES": codes.coded(services),
        "DISDATE": yyyymmdd(discharged),
        "REASON": codes.coded(reason),
        "LOS": codes.los_code(max((discharged - admitted).days, 0)),
        "SERVICES_D": codes.coded(services),
    }


def _discharge_records(
    facility_ids: Iterable[int], start: dt.date, end: dt.date, with_names: bool
) -> Iterator[Record]:
    last_change = (
        _services_changes()
        .filter(episode=OuterRef("episode_id"), changed_on__lte=OuterRef("discharge_date"))
        .order_by("-changed_on", "-id")
    )
    fields = [
        "pk",
        "discharge_date",
        "reason",
        "episode_id",
        "patient_id",
        "facility_id",
        "facility__code",
        "episode__admission_date",
        "episode__teds_services",
        "episode__teds_sub1",
        "episode__teds_sub2",
        "episode__teds_sub3",
        "segment_start",
        "segment_services",
        *DISCHARGE_COLUMNS.values(),
    ]
    if with_names:
        fields += [f"patient__{name}" for name in NAME_FIELDS]
    rows = (
        _discharges(facility_ids, start, end)
        .annotate(
            segment_start=Subquery(last_change.values("changed_on")[:1]),
            segment_services=Subquery(last_change.values("to_services")[:1]),
        )
        .order_by("discharge_date", "id")
        .values(*fields)
    )
    clients: dict[int, str] = {}
    for v in rows.iterator(chunk_size=CHUNK):
        changed = v["segment_start"] is not None
        row = _d_row(
            provider=v["facility__code"],
            patient_id=v["patient_id"],
            episode_id=v["episode_id"],
            admitted=v["segment_start"] if changed else v["episode__admission_date"],
            services=v["segment_services"] if changed else v["episode__teds_services"],
            discharged=v["discharge_date"],
            reason=v["reason"],
            clients=clients,
        )
        for column, name in DISCHARGE_COLUMNS.items():
            row[column] = codes.coded(v[name])
        # Which substances the admission named decides which FREQn_D are asked (not written).
        row["_substances"] = tuple(v[f"episode__teds_sub{n}"] for n in (1, 2, 3))
        yield Record(
            kind="D",
            transfer=False,
            day=v["discharge_date"],
            row=row,
            patient_id=v["patient_id"],
            facility_id=v["facility_id"],
            episode_id=v["episode_id"],
            discharge_id=v["pk"],
            person=_person(v, "patient__", with_names),
        )


def _transfer_discharge_records(
    facility_ids: Iterable[int], start: dt.date, end: dt.date, with_names: bool
) -> Iterator[Record]:
    earlier = (
        _services_changes()
        .filter(episode=OuterRef("episode_id"))
        .filter(
            Q(changed_on__lt=OuterRef("changed_on"))
            | Q(changed_on=OuterRef("changed_on"), pk__lt=OuterRef("pk"))
        )
        .order_by("-changed_on", "-id")
    )
    fields = [
        "episode_id",
        "changed_on",
        "from_services",
        "segment_start",
        "episode__patient_id",
        "episode__facility_id",
        "episode__facility__code",
    ]
    if with_names:
        fields += [f"episode__patient__{name}" for name in NAME_FIELDS]
    rows = (
        _transfers(facility_ids, start, end)
        .annotate(
            segment_start=Coalesce(
                Subquery(earlier.values("changed_on")[:1]), F("episode__admission_date")
            )
        )
        .order_by("changed_on", "id")
        .values(*fields)
    )
    clients: dict[int, str] = {}
    for v in rows.iterator(chunk_size=CHUNK):
        row = _d_row(
            provider=v["episode__facility__code"],
            patient_id=v["episode__patient_id"],
            episode_id=v["episode_id"],
            admitted=v["segment_start"],
            services=v["from_services"],
            discharged=v["changed_on"],
            reason=codes.Reason.TRANSFERRED,
            clients=clients,
        )
        # No discharge status is recorded at a change of service inside the episode.
        for column in DISCHARGE_COLUMNS:
            row[column] = MISSING
        yield Record(
            kind="D",
            transfer=True,
            day=v["changed_on"],
            row=row,
            patient_id=v["episode__patient_id"],
            facility_id=v["episode__facility_id"],
            episode_id=v["episode_id"],
            person=_person(v, "episode__patient__", with_names),
        )


def records(
    kind: Kind,
    facility_ids: Iterable[int],
    start: dt.date,
    end: dt.date,
    *,
    with_names: bool = False,
) -> Iterator[Record]:
    """Every record of the file in date order (first admissions and changes of service
    interleaved). ``with_names`` adds the name and MRN, for the validation page only."""
    ids = list(facility_ids)
    if kind == "A":
        parts = (
            _admission_records(ids, start, end, with_names),
            _transfer_admission_records(ids, start, end, with_names),
        )
    else:
        parts = (
            _discharge_records(ids, start, end, with_names),
            _transfer_discharge_records(ids, start, end, with_names),
        )
    return heapq.merge(*parts, key=lambda r: r.day)


def count(kind: Kind, facility_ids: Iterable[int], start: dt.date, end: dt.date) -> int:
    """How many records ``records`` will give (for a progress bar): two counting queries."""
    ids = list(facility_ids)
    first = _admissions(ids, start, end) if kind == "A" else _discharges(ids, start, end)
    return first.count() + _transfers(ids, start, end).count()


def file_row(record: Record) -> dict[str, Any]:
    return {c: record.row[c] for c in COLUMNS[record.kind]}


def teds_a_rows(
    facility_ids: Iterable[int], start: dt.date, end: dt.date
) -> Iterator[dict[str, Any]]:
    """TEDS-A: one row per admission in the range and per change of service in it."""
    return (file_row(r) for r in records("A", facility_ids, start, end))


def teds_d_rows(
    facility_ids: Iterable[int], start: dt.date, end: dt.date
) -> Iterator[dict[str, Any]]:
    """TEDS-D: one row per discharge in the range and a transfer discharge per change of
    service in it (``REASON`` 4, ``LOS`` from the start of the segment)."""
    return (file_row(r) for r in records("D", facility_ids, start, end))


@dataclass(frozen=True, slots=True)
class PatientRef:
    """A patient in a file or on a page, as the audit trail's ``record_list`` takes them."""

    pk: int
    facility_id: int


def patient_refs(patients: Mapping[int, int]) -> list[PatientRef]:
    return [PatientRef(pk, facility) for pk, facility in sorted(patients.items())]


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class Written:
    rows: int
    patients: dict[int, int]  # patient id → facility id, for the audit trail
    with_problems: int


def write_csv(
    kind: Kind,
    source: Iterable[Record],
    out: Writable,
    *,
    every: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Written:
    """Write the header and the rows; call ``progress(rows so far)`` every ``every`` rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    columns = COLUMNS[kind]
    writer.writerow(columns)
    rows = problems = 0
    patients: dict[int, int] = {}
    for record in source:
        writer.writerow([record.row[c] for c in columns])
        rows += 1
        patients[record.patient_id] = record.facility_id
        if record.missing:
            problems += 1
        if progress is not None and rows % every == 0:
            progress(rows)
    return Written(rows=rows, patients=patients, with_problems=problems)


# --- the validation report ------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A record with a missing required field, as staff need it to fix the chart."""

    kind: Kind
    label: str  # "Admission", "Change of service (admission)", "Discharge", …
    day: dt.date
    patient_id: int
    facility_id: int
    name: str
    mrn: str
    missing: tuple[str, ...]  # column names
    links: tuple[tuple[str, str], ...]  # (what to open, URL)

    @property
    def missing_words(self) -> list[str]:
        return [WORDS.get(c, c) for c in self.missing]


@dataclass
class Validation:
    kind: Kind
    start: dt.date
    end: dt.date
    records: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def with_problems(self) -> int:
        return len(self.problems)

    @property
    def complete(self) -> int:
        return self.records - len(self.problems)


LABELS: dict[tuple[Kind, bool], str] = {
    ("A", False): "Admission",
    ("A", True): "Change of service: admission to the new service",
    ("D", False): "Discharge",
    ("D", True): "Change of service: discharge from the old service",
}


def _name(person: Mapping[str, str]) -> str:
    first, preferred = person.get("first_name", ""), person.get("preferred_name", "")
    shown = f"{preferred} ({first})" if preferred and preferred != first else first
    return f"{shown} {person.get('last_name', '')}".strip()


def _links(record: Record, missing: list[str]) -> tuple[tuple[str, str], ...]:
    links: list[tuple[str, str]] = []
    if record.kind == "D" and record.discharge_id is not None:
        links.append(
            ("Open the discharge summary", reverse("discharge:summary", args=[record.discharge_id]))
        )
    elif any(c not in REGISTRATION_COLUMNS for c in missing):
        links.append(
            (
                "Correct the admission",
                reverse("admissions:edit", args=[record.patient_id, record.episode_id]),
            )
        )
    if REGISTRATION_COLUMNS.intersection(missing):
        links.append(
            ("Correct the registration", reverse("patients:edit", args=[record.patient_id]))
        )
    return tuple(links)


def validate(kind: Kind, facility_ids: Iterable[int], start: dt.date, end: dt.date) -> Validation:
    """Every record of the file, checked against the required fields (docs/teds.md)."""
    result = Validation(kind=kind, start=start, end=end)
    for record in records(kind, facility_ids, start, end, with_names=True):
        result.records += 1
        missing = record.missing
        if missing:
            result.problems.append(
                Problem(
                    kind=kind,
                    label=LABELS[(kind, record.transfer)],
                    day=record.day,
                    patient_id=record.patient_id,
                    facility_id=record.facility_id,
                    name=_name(record.person),
                    mrn=record.person.get("mrn", ""),
                    missing=tuple(missing),
                    links=_links(record, missing),
                )
            )
    return result
