"""Laboratory results from a CSV file (docs/recovery.md lists the columns).

``preview`` reads the whole file and checks every row — the patient (by MRN, among the
patients the user may see at the facility), the time, the specimen, the substance, the
result — and groups the rows into tests (one specimen: same MRN, time and specimen). It
writes nothing. The import itself (services.import_lab_results) takes every test or none.

An MRN that does not exist and one outside the user's scope get the same message, so the
file never tells anyone whether a patient exists elsewhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients
from openiop.recovery import rules
from openiop.recovery.models import DrugTest
from openiop.recovery.services import ImportedTest

REQUIRED = ("mrn", "collected_at", "specimen", "substance", "result")
OPTIONAL = ("observed", "note")
MAX_ROWS = 5000
NO_PATIENT = "No patient with this MRN in your care at this facility."

# Words laboratories use, besides our own codes and labels.
SUBSTANCE_ALIASES = {
    "amp": "amphetamines",
    "bar": "barbiturates",
    "bzo": "benzodiazepines",
    "bup": "buprenorphine",
    "coc": "cocaine",
    "etg": "alcohol",
    "ets": "alcohol",
    "etoh": "alcohol",
    "fen": "fentanyl",
    "fyl": "fentanyl",
    "mamp": "methamphetamine",
    "met": "methamphetamine",
    "mtd": "methadone",
    "opi": "opiates",
    "oxy": "oxycodone",
    "cannabis": "thc",
    "marijuana": "thc",
    "tml": "tramadol",
}
RESULT_ALIASES = {
    "pos": "positive",
    "+": "positive",
    "neg": "negative",
    "-": "negative",
    "inv": "invalid",
    "dil": "dilute",
}
SPECIMEN_ALIASES = {
    "oral fluid": "oral_fluid",
    "oral-fluid": "oral_fluid",
    "saliva": "oral_fluid",
    "ur": "urine",
    "bac": "breath",
}
YES = {"yes", "y", "true", "1", "observed"}
NO = {"no", "n", "false", "0", ""}
LOCAL_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p")


def _lookup() -> dict[str, str]:
    words = {code: code for code in rules.SUBSTANCES}
    words.update({label.lower(): code for code, label in rules.SUBSTANCES.items()})
    words.update(SUBSTANCE_ALIASES)
    return words


SUBSTANCE_WORDS = _lookup()


@dataclass
class Row:
    line: int
    mrn: str
    collected_text: str
    specimen_text: str
    substance_text: str
    result_text: str
    observed_text: str = ""
    note: str = ""
    collected_at: dt.datetime | None = None
    specimen: str = ""
    substance: str = ""
    result: str = ""
    observed: bool = False
    patient: Patient | None = None
    episode: EpisodeOfCare | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Preview:
    rows: list[Row]
    file_problems: list[str]
    tests: list[ImportedTest]

    @property
    def bad_rows(self) -> list[Row]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.file_problems and bool(self.rows) and not self.bad_rows

    @property
    def patients(self) -> list[Patient]:
        seen: dict[int, Patient] = {}
        for r in self.rows:
            if r.patient is not None:
                seen.setdefault(r.patient.pk, r.patient)
        return list(seen.values())


def decode(raw: bytes) -> str:
    """The file's text (UTF-8, with or without a byte-order mark); ValueError if not text."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            "The file is not a UTF-8 text (CSV) file. Save it as “CSV UTF-8” and try again."
        ) from exc


def parse_time(text: str, facility: Facility) -> dt.datetime | None:
    """ISO 8601 (with an offset, or without one in facility time) or MM/DD/YYYY HH:MM
    (facility time); None if unreadable or a date without a time."""
    text = text.strip()
    if len(text) <= 10:  # a date alone: when in the day matters for the reading
        return None
    zone = facility.zone
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
        for pattern in LOCAL_FORMATS:
            try:
                value = dt.datetime.strptime(text.upper(), pattern)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _read(text: str) -> tuple[list[Row], list[str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if not header:
        return [], ["The file is empty."]
    if missing:
        return [], [
            f"The first line must name the columns. Missing: {', '.join(missing)}. "
            f"Expected: {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})."
        ]
    reader.fieldnames = header
    rows: list[Row] = []
    for raw in reader:
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            continue  # a blank line
        if len(rows) >= MAX_ROWS:
            return rows, [f"The file has more than {MAX_ROWS} rows: split it and import each part."]

        def cell(name: str, raw: dict[str, str | None] = raw) -> str:
            return (raw.get(name) or "").strip()

        rows.append(
            Row(
                line=reader.line_num,
                mrn=cell("mrn"),
                collected_text=cell("collected_at"),
                specimen_text=cell("specimen"),
                substance_text=cell("substance"),
                result_text=cell("result"),
                observed_text=cell("observed"),
                note=cell("note")[:300],
            )
        )
    if not rows:
        return [], ["The file has column names but no results."]
    return rows, []


def _check_cells(row: Row, facility: Facility, now: dt.datetime) -> None:
    row.collected_at = parse_time(row.collected_text, facility)
    if row.collected_at is None:
        row.problems.append(
            f"Cannot read the collection time “{row.collected_text}”: write it like "
            "2026-03-04 09:30 (facility time) or 03/04/2026 09:30."
        )
    elif row.collected_at > now:
        row.problems.append("The collection time is in the future.")
    specimen = row.specimen_text.lower()
    row.specimen = SPECIMEN_ALIASES.get(specimen, specimen)
    row.substance = SUBSTANCE_WORDS.get(row.substance_text.lower(), "")
    result = row.result_text.lower()
    row.result = RESULT_ALIASES.get(result, result)
    if not row.substance:
        row.problems.append(
            f"Unknown substance “{row.substance_text}”. Use one of: {', '.join(rules.SUBSTANCES)}."
        )
    else:
        problem = rules.result_error(row.substance, row.result, row.specimen)
        if problem:
            row.problems.append(problem)
    observed = row.observed_text.lower()
    if observed in YES:
        row.observed = True
    elif observed not in NO:
        row.problems.append(f"Observed must be yes or no, not “{row.observed_text}”.")


def _episode_on(episodes: list[EpisodeOfCare], day: dt.date) -> EpisodeOfCare | None:
    for e in episodes:  # newest admission first
        if e.admission_date <= day and (e.discharge_date is None or day <= e.discharge_date):
            return e
    return None


def preview(user: User, facility: Facility, text: str) -> Preview:
    """Every row checked and the tests they make; nothing written. Three queries."""
    rows, file_problems = _read(text)
    if file_problems and not rows:
        return Preview([], file_problems, [])
    now = timezone.now()
    for row in rows:
        _check_cells(row, facility, now)
    patients = {
        p.mrn: p
        for p in visible_patients(user, include_break_glass=False)
        .filter(facility=facility, mrn__in={r.mrn for r in rows if r.mrn})
        .select_related("facility")
    }
    episodes: dict[int, list[EpisodeOfCare]] = defaultdict(list)
    for e in (
        EpisodeOfCare.objects.filter(patient__in=[p.pk for p in patients.values()])
        .select_related("facility")
        .order_by("-admission_date", "-id")
    ):
        episodes[e.patient_id].append(e)
    times = {r.collected_at for r in rows if r.collected_at is not None}
    already = set(
        DrugTest.objects.filter(
            patient__in=[p.pk for p in patients.values()], collected_at__in=times
        ).values_list("patient_id", "collected_at", "specimen")
    )
    groups: dict[tuple[int, dt.datetime, str], list[Row]] = defaultdict(list)
    for row in rows:
        row.patient = patients.get(row.mrn)
        if row.patient is None:
            row.problems.insert(0, NO_PATIENT)
            continue
        if row.collected_at is None:
            continue
        day = row.collected_at.astimezone(facility.zone).date()
        row.episode = _episode_on(episodes[row.patient.pk], day)
        if row.episode is None:
            row.problems.append(
                f"The patient was not in treatment on {day:%m/%d/%Y} "
                "(no episode of care covers it)."
            )
            continue
        key = (row.patient.pk, row.collected_at, row.specimen)
        if key in already:
            row.problems.append(
                "This test is already recorded for this patient (the file may have been "
                "imported before)."
            )
        groups[key].append(row)
    tests: list[ImportedTest] = []
    for key, members in groups.items():
        seen: set[str] = set()
        for row in members:
            if row.substance and row.substance in seen:
                row.problems.append("This substance is listed twice for the same specimen.")
            seen.add(row.substance)
        if len({r.observed for r in members}) > 1:
            for row in members:
                row.problems.append("Rows of the same specimen disagree on “observed”.")
        first = members[0]
        assert first.episode is not None and first.collected_at is not None  # noqa: S101
        first.episode.patient = first.patient  # type: ignore[assignment]
        tests.append(
            ImportedTest(
                episode=first.episode,
                specimen=key[2],
                observed=first.observed,
                collected_at=first.collected_at,
                results={r.substance: r.result for r in members},
                note=next((r.note for r in members if r.note), ""),
                lines=tuple(r.line for r in members),
            )
        )
    return Preview(rows, file_problems, tests)
