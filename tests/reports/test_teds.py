"""The TEDS records (SPEC §9, docs/teds.md): exact codes, −9 for what is missing, LOS,
a change of service split into a transfer discharge and an admission, a pseudonymous client
id, and the validation report."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.urls import reverse

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds as codes
from openiop.reports import teds
from tests.admissions.factories import program_with_phases
from tests.reports.teds_data import admitted, changed, discharged, person

JAN1, MAR31 = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, name="Adult IOP", level_of_care="2.1")


@pytest.fixture
def outpatient(facility: Facility) -> Program:
    return program_with_phases(
        facility,
        name="Outpatient",
        level_of_care="1",
        min_days_per_week=1,
        min_hours_per_week=1,
        max_hours_per_week=8,
    )


def a_rows(facility: Facility, start: dt.date = JAN1, end: dt.date = MAR31) -> list[dict[str, Any]]:
    return list(teds.teds_a_rows([facility.pk], start, end))


def d_rows(facility: Facility, start: dt.date = JAN1, end: dt.date = MAR31) -> list[dict[str, Any]]:
    return list(teds.teds_d_rows([facility.pk], start, end))


# --- TEDS-A -----------------------------------------------------------------------------------


def test_it_codes_an_admission_exactly(
    facility: Facility, program: Program, clinician: User
) -> None:
    patient = person(facility, veteran_status="veteran")
    admitted(patient, program, clinician, dt.date(2026, 1, 5))

    (row,) = a_rows(facility)

    assert list(row) == list(teds.A_COLUMNS)
    assert {k: v for k, v in row.items() if k not in ("CLIENTID", "CASEID")} == {
        "RECTYPE": "A",
        "ADMTYPE": 1,
        "PROVIDER": "HTF",
        "ADMIT": "20260105",
        "SERVICES": 6,
        "PSOURCE": 7,
        "NOPRIOR": 2,
        "SUB1": 2,
        "ROUTE1": 1,
        "FREQ1": 3,
        "FRSTUSE1": 3,
        "SUB2": 4,
        "ROUTE2": 2,
        "FREQ2": 2,
        "FRSTUSE2": 2,
        "SUB3": -9,
        "ROUTE3": -9,
        "FREQ3": -9,
        "FRSTUSE3": -9,
        "EMPLOY": 1,
        "LIVARAG": 3,
        "ARRESTS": 0,
        "EDUC": 3,
        "MARSTAT": 1,
        "FREQ_ATND_SELF_HELP": 2,
        "PSYPROB": 1,
        "METHUSE": 2,
        "HLTHINS": 2,
        "PRIMPAY": 4,
        "AGE": 7,  # 35 on 01/05/2026: the 35–39 group
        "GENDER": 2,
        "RACE": -9,
        "ETHNIC": -9,
        "VET": 1,
    }


def test_it_writes_minus_9_for_every_field_not_recorded(
    facility: Facility, program: Program, clinician: User
) -> None:
    patient = person(facility, sex_at_birth="declined", veteran_status="")
    admitted(patient, program, clinician, dt.date(2026, 2, 1), full=False)

    (row,) = a_rows(facility)

    assert row["SERVICES"] == 6 and row["PSOURCE"] == 1  # required by the admission form
    never_asked = [c for c in teds.A_COLUMNS if c in teds.EPISODE_COLUMNS and c != "PSOURCE"]
    assert {c: row[c] for c in never_asked} == dict.fromkeys(never_asked, -9)
    assert row["GENDER"] == -9
    assert row["VET"] == -9


def test_it_counts_admissions_by_admission_date_and_facility(
    facility: Facility, other_facility: Facility, program: Program, clinician: User
) -> None:
    admitted(person(facility), program, clinician, dt.date(2025, 12, 31))
    inside = admitted(person(facility), program, clinician, JAN1)
    last = admitted(person(facility), program, clinician, MAR31)
    elsewhere = program_with_phases(other_facility)
    admitted(person(other_facility), elsewhere, clinician, dt.date(2026, 2, 2))

    rows = a_rows(facility)

    assert [r["ADMIT"] for r in rows] == ["20260101", "20260331"]
    assert [r["CLIENTID"] for r in rows] == [
        teds.client_id(inside.patient_id),
        teds.client_id(last.patient_id),
    ]


@pytest.mark.parametrize(
    ("born", "code"),
    [
        (dt.date(2014, 1, 6), -9),  # 11 the day before the birthday
        (dt.date(2014, 1, 5), 1),  # 12 on the admission day
        (dt.date(2008, 1, 5), 3),  # 18
        (dt.date(1991, 1, 6), 6),  # 34
        (dt.date(1991, 1, 5), 7),  # 35
        (dt.date(1961, 1, 6), 11),  # 64
        (dt.date(1961, 1, 5), 12),  # 65
    ],
)
def test_it_codes_the_age_group_on_the_admission_day(born: dt.date, code: int) -> None:
    assert teds.age_code(born, dt.date(2026, 1, 5)) == code


def test_the_client_id_is_stable_and_holds_no_mrn_or_name(
    facility: Facility, program: Program, clinician: User
) -> None:
    patient = person(facility, first_name="Abebe", last_name="Zelalem", mrn="HTF-123456")
    first = admitted(patient, program, clinician, dt.date(2026, 1, 5))
    discharged(first, dt.date(2026, 1, 20), clinician)
    admitted(patient, program, clinician, dt.date(2026, 3, 2))
    other = admitted(person(facility), program, clinician, dt.date(2026, 3, 3))

    rows = a_rows(facility)
    (discharge,) = d_rows(facility)

    ids = {r["CLIENTID"] for r in rows[:2]}
    assert len(ids) == 1  # the same person in both admissions…
    (client,) = ids
    assert discharge["CLIENTID"] == client  # …and in the discharge file
    assert rows[2]["CLIENTID"] == teds.client_id(other.patient_id) != client
    assert re.fullmatch(r"[0-9A-F]{16}", client)
    assert teds.client_id(patient.pk) == client  # the same tomorrow: no random part
    text = ",".join(str(v) for r in [*rows, discharge] for v in r.values()).lower()
    for secret in ("123456", "abebe", "zelalem", "19900412", "1990"):
        assert secret not in text
    assert rows[0]["CASEID"] != rows[1]["CASEID"]  # one case per episode


# --- TEDS-D -----------------------------------------------------------------------------------


def test_it_codes_a_discharge_exactly(
    facility: Facility, program: Program, clinician: User
) -> None:
    episode = admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    discharged(episode, dt.date(2026, 3, 7), clinician, reason_key="left_against_advice")

    (row,) = d_rows(facility)
    (admission,) = a_rows(facility)

    assert list(row) == list(teds.D_COLUMNS)
    assert row == {
        "RECTYPE": "D",
        "PROVIDER": "HTF",
        "CLIENTID": admission["CLIENTID"],
        "CASEID": admission["CASEID"],
        "ADMIT": "20260105",
        "SERVICES": 6,
        "DISDATE": "20260307",
        "REASON": 2,
        "LOS": 33,  # 61 days: 61–90 is code 33
        "SERVICES_D": 6,
        "FREQ1_D": 1,
        "FREQ2_D": 1,
        "FREQ3_D": -9,
        "EMPLOY_D": 1,
        "LIVARAG_D": 3,
        "ARRESTS_D": 0,
        "FREQ_ATND_SELF_HELP_D": 4,
    }


@pytest.mark.parametrize(
    ("days", "code"),
    [(0, 1), (1, 1), (30, 30), (31, 31), (45, 31), (46, 32), (60, 32), (61, 33), (90, 33)],
)
def test_it_codes_the_length_of_stay(
    facility: Facility, program: Program, clinician: User, days: int, code: int
) -> None:
    admission = dt.date(2025, 12, 1)
    episode = admitted(person(facility), program, clinician, admission)
    discharged(episode, admission + dt.timedelta(days=days), clinician)

    (row,) = d_rows(facility, dt.date(2025, 12, 1), MAR31)

    assert row["LOS"] == code == codes.los_code(days)


def test_it_writes_minus_9_for_a_discharge_status_not_recorded(
    facility: Facility, program: Program, clinician: User
) -> None:
    episode = admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    discharged(episode, dt.date(2026, 2, 5), clinician, reason_key="died", full=False)

    (row,) = d_rows(facility)

    assert row["REASON"] == 6
    assert [row[c] for c in teds.DISCHARGE_COLUMNS] == [-9] * len(teds.DISCHARGE_COLUMNS)


# --- a change of service inside an episode ----------------------------------------------------


def test_a_change_of_service_is_a_transfer_discharge_and_an_admission(
    facility: Facility, program: Program, outpatient: Program, clinician: User
) -> None:
    episode = admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    changed(
        episode,
        dt.date(2026, 2, 16),
        clinician,
        to_program=outpatient,
        from_services=6,
        to_services=7,
    )
    discharged(episode, dt.date(2026, 3, 31), clinician)

    first, second = a_rows(facility)
    transfer, final = d_rows(facility)

    assert (first["ADMTYPE"], first["ADMIT"], first["SERVICES"]) == (1, "20260105", 6)
    assert (second["ADMTYPE"], second["ADMIT"], second["SERVICES"]) == (2, "20260216", 7)
    assert second["CLIENTID"] == first["CLIENTID"]
    assert second["SUB1"] == first["SUB1"] == 2  # the admission's answers carry over
    assert {k: transfer[k] for k in ("CASEID", "ADMIT", "SERVICES", "DISDATE", "REASON")} == {
        "CASEID": first["CASEID"],
        "ADMIT": "20260105",
        "SERVICES": 6,
        "DISDATE": "20260216",
        "REASON": 4,
    }
    assert transfer["LOS"] == codes.los_code(42) == 31
    assert transfer["SERVICES_D"] == 6
    assert transfer["EMPLOY_D"] == -9  # no discharge status is taken at a transfer
    assert {k: final[k] for k in ("CASEID", "ADMIT", "SERVICES", "DISDATE", "REASON")} == {
        "CASEID": second["CASEID"],
        "ADMIT": "20260216",
        "SERVICES": 7,
        "DISDATE": "20260331",
        "REASON": 1,
    }
    assert final["LOS"] == codes.los_code(43) == 31  # from the start of the segment
    assert final["SERVICES_D"] == 7


def test_a_change_of_program_with_the_same_service_is_not_split(
    facility: Facility, program: Program, clinician: User
) -> None:
    php = program_with_phases(facility, name="PHP", level_of_care="2.5", max_hours_per_week=30)
    episode = admitted(person(facility), php, clinician, dt.date(2026, 1, 5))
    changed(
        episode,
        dt.date(2026, 2, 2),
        clinician,
        to_program=program,
        from_services=6,
        to_services=6,
    )
    discharged(episode, dt.date(2026, 3, 2), clinician)

    assert len(a_rows(facility)) == 1
    (row,) = d_rows(facility)
    assert (row["ADMIT"], row["LOS"]) == ("20260105", codes.los_code(56))


def test_only_the_records_dated_in_the_range_are_written(
    facility: Facility, program: Program, outpatient: Program, clinician: User
) -> None:
    """Admitted in December, changed service in February, still in care: the first quarter
    holds the change's two records only."""
    episode = admitted(person(facility), program, clinician, dt.date(2025, 12, 1))
    changed(
        episode,
        dt.date(2026, 2, 2),
        clinician,
        to_program=outpatient,
        from_services=6,
        to_services=7,
    )

    (admission,) = a_rows(facility)
    (transfer,) = d_rows(facility)

    assert (admission["ADMIT"], admission["ADMTYPE"]) == ("20260202", 2)
    assert (transfer["ADMIT"], transfer["DISDATE"], transfer["LOS"]) == (
        "20251201",
        "20260202",
        codes.los_code(63),
    )
    assert teds.count("A", [facility.pk], JAN1, MAR31) == 1
    assert teds.count("D", [facility.pk], JAN1, MAR31) == 1


def test_the_files_cost_a_constant_number_of_queries(
    facility: Facility,
    program: Program,
    outpatient: Program,
    clinician: User,
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(12):
        episode = admitted(person(facility), program, clinician, dt.date(2026, 1, 5 + n))
        if n % 3 == 0:
            changed(
                episode,
                dt.date(2026, 2, 1 + n),
                clinician,
                to_program=outpatient,
                from_services=6,
                to_services=7,
            )
        if n % 2 == 0:
            discharged(episode, dt.date(2026, 3, 1 + n), clinician)

    with django_assert_max_num_queries(2):
        assert len(a_rows(facility)) == 16
    with django_assert_max_num_queries(2):
        assert len(d_rows(facility)) == 10
    with django_assert_max_num_queries(2):
        assert len(teds.validate("A", [facility.pk], JAN1, MAR31).problems) == 0


# --- validation -------------------------------------------------------------------------------


def test_missing_fields_rules() -> None:
    complete = dict.fromkeys(teds.A_COLUMNS, 1)
    complete.update({"SUB2": -9, "SUB3": -9, "SUB1": 2})
    assert teds.missing_fields("A", complete) == []
    assert teds.missing_fields("A", {**complete, "EDUC": -9, "AGE": -9}) == ["EDUC", "AGE"]
    # No substance: no route, frequency or age at first use asked.
    none = {**complete, "SUB1": 1, "ROUTE1": -9, "FREQ1": -9, "FRSTUSE1": -9}
    assert teds.missing_fields("A", none) == []
    # A secondary substance brings its own route, frequency and age at first use.
    second = {**complete, "SUB2": 3, "ROUTE2": -9, "FREQ2": -9, "FRSTUSE2": 2}
    assert teds.missing_fields("A", second) == ["ROUTE2", "FREQ2"]
    d = dict.fromkeys(teds.D_COLUMNS, 1) | {"_substances": (2, 4, None), "FREQ2_D": -9}
    assert teds.missing_fields("D", d) == ["FREQ2_D"]
    bare = dict.fromkeys(teds.D_COLUMNS, -9) | {"DISDATE": "20260101", "REASON": 4, "LOS": 3}
    assert teds.missing_fields("D", bare, transfer=True) == []
    assert teds.missing_fields("D", bare) == ["FREQ1_D", "EMPLOY_D", "LIVARAG_D"]


def test_validation_lists_every_record_missing_a_required_field(
    facility: Facility, program: Program, clinician: User
) -> None:
    admitted(person(facility, first_name="Complete"), program, clinician, dt.date(2026, 1, 5))
    bare = person(facility, first_name="Rosa", last_name="Bare", mrn="HTF-200001")
    bare_episode = admitted(bare, program, clinician, dt.date(2026, 1, 6), full=False)
    second = person(
        facility,
        first_name="Tomas",
        last_name="Second",
        mrn="HTF-200002",
        date_of_birth=dt.date(1990, 1, 1),
        sex_at_birth="unknown",
    )
    second_episode = admitted(
        second, program, clinician, dt.date(2026, 1, 7), teds_route2=None, teds_freq2=None
    )
    nothing = person(facility, first_name="Nell", last_name="None", mrn="HTF-200003")
    admitted(
        nothing,
        program,
        clinician,
        dt.date(2026, 1, 8),
        teds_sub1=1,
        teds_route1=None,
        teds_freq1=None,
        teds_frstuse1=None,
        teds_sub2=None,
        teds_route2=None,
        teds_freq2=None,
        teds_frstuse2=None,
    )

    result = teds.validate("A", [facility.pk], JAN1, MAR31)

    assert (result.records, result.complete, result.with_problems) == (4, 2, 2)
    first, other = result.problems
    assert (first.name, first.mrn, first.day, first.label) == (
        "Rosa Bare",
        "HTF-200001",
        dt.date(2026, 1, 6),
        "Admission",
    )
    assert first.missing == (
        "NOPRIOR",
        "SUB1",
        "ROUTE1",
        "FREQ1",
        "FRSTUSE1",
        "EMPLOY",
        "LIVARAG",
        "EDUC",
        "MARSTAT",
    )
    assert "primary substance (SUB1)" in first.missing_words
    assert first.links == (
        ("Correct the admission", reverse("admissions:edit", args=[bare.pk, bare_episode.pk])),
    )
    assert (other.name, other.mrn) == ("Tomas Second", "HTF-200002")
    assert other.missing == ("ROUTE2", "FREQ2", "GENDER")
    assert other.links == (
        ("Correct the admission", reverse("admissions:edit", args=[second.pk, second_episode.pk])),
        ("Correct the registration", reverse("patients:edit", args=[second.pk])),
    )


def test_validation_of_discharges_links_the_summary(
    facility: Facility, program: Program, outpatient: Program, clinician: User
) -> None:
    done = admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    discharged(done, dt.date(2026, 2, 5), clinician)
    patient = person(facility, first_name="Ida", last_name="Lacking", mrn="HTF-300001")
    lacking = admitted(patient, program, clinician, dt.date(2026, 1, 5))
    changed(
        lacking,
        dt.date(2026, 1, 20),
        clinician,
        to_program=outpatient,
        from_services=6,
        to_services=7,
    )
    summary = discharged(
        lacking, dt.date(2026, 2, 20), clinician, full=False, teds_employ_d=2, teds_freq1_d=1
    )

    result = teds.validate("D", [facility.pk], JAN1, MAR31)

    # The transfer discharge (no status asked) and the complete discharge are complete.
    assert (result.records, result.complete, result.with_problems) == (3, 2, 1)
    (problem,) = result.problems
    assert (problem.name, problem.mrn, problem.day) == (
        "Ida Lacking",
        "HTF-300001",
        dt.date(2026, 2, 20),
    )
    assert problem.missing == ("FREQ2_D", "LIVARAG_D")  # SUB2 was given at admission
    assert problem.links == (
        ("Open the discharge summary", reverse("discharge:summary", args=[summary.pk])),
    )


def test_write_csv_writes_the_documented_header_and_counts(
    facility: Facility, program: Program, clinician: User
) -> None:
    admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    admitted(person(facility), program, clinician, dt.date(2026, 1, 6), full=False)
    out = io.StringIO()
    seen: list[int] = []

    written = teds.write_csv(
        "A", teds.records("A", [facility.pk], JAN1, MAR31), out, every=1, progress=seen.append
    )

    lines = out.getvalue().split("\r\n")
    assert lines[0] == ",".join(teds.A_COLUMNS)
    assert len([line for line in lines if line]) == 3
    assert (written.rows, written.with_problems, seen) == (2, 1, [1, 2])
    assert set(written.patients.values()) == {facility.pk}


def test_every_episode_field_of_the_teds_section_is_exported() -> None:
    teds_fields = {f.name for f in EpisodeOfCare._meta.get_fields() if f.name.startswith("teds_")}
    exported = set(teds.EPISODE_COLUMNS.values()) - {"referral_source"} | {"teds_services"}
    assert teds_fields == exported
