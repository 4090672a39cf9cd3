"""The weekly dose report, its CSV, the at-risk list and the home-page panel, through the
pages: who may read them, what they show, what they audit and what they cost."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.scheduling import home, rules, selectors
from openiop.scheduling.models import Room, Schedule
from openiop.scheduling.views_dose import chart_link
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

TUESDAY, WEDNESDAY = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=2)
THURSDAY, FRIDAY = MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=4)
REPORT = reverse("scheduling:dose_report")
CSV = reverse("scheduling:dose_report_csv")
AT_RISK = reverse("scheduling:at_risk")


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)  # 3 h a day; 3 days and 9 h a week; at most 19 h


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return f.room(director, facility)


@pytest.fixture
def mwf(director: User, program: Program, clinician: User, room_a: Room) -> Schedule:
    """3 hours on Monday, Wednesday and Friday at 9:00."""
    return f.schedule(director, f.group(director, program), clinician, where=room_a)


@pytest.fixture
def long_tue_thu(director: User, program: Program, clinician: User, room_a: Room) -> Schedule:
    """8 hours on Tuesday and Thursday: with the three 3-hour days, 25 h, above 19."""
    group = f.group(director, program, "Day program", duration_minutes=480)
    return f.schedule(director, group, clinician, where=room_a, rrule="FREQ=WEEKLY;BYDAY=TU,TH")


def admit(facility: Facility, program: Program, clinician: User, name: str) -> EpisodeOfCare:
    return f.admitted(facility, program, clinician, name)


@pytest.fixture
def week(
    facility: Facility,
    program: Program,
    clinician: User,
    front_desk: User,
    mwf: Schedule,
    long_tue_thu: Schedule,
) -> dict[str, EpisodeOfCare]:
    """In the week of MONDAY: one meets the minimum, one is below it, one above the maximum."""
    meets = admit(facility, program, clinician, "Ashby")
    below = admit(facility, program, clinician, "Brandt")
    above = admit(facility, program, clinician, "Castillo")
    f.came(front_desk, f.session_on(mwf, MONDAY), meets, below, above)
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), meets, above)
    f.came(front_desk, f.session_on(mwf, FRIDAY), meets, above)
    for day in (TUESDAY, THURSDAY):
        f.came(front_desk, f.session_on(long_tue_thu, day), above)
    return {"meets": meets, "below": below, "above": above}


def test_the_chart_link_is_the_chart_tab_address() -> None:
    link = chart_link()
    for pk in (1, 42, 987654321, 10**12):
        assert link(pk) == reverse("scheduling:patient", args=[pk])


def report(client: Client, **params: str) -> Any:
    return client.get(REPORT, {"week": MONDAY.isoformat(), **params})


def row_of(page: str, episode: EpisodeOfCare) -> str:
    link = reverse("scheduling:patient", args=[episode.patient_id])
    start = page.index(f'href="{link}"')
    return page[start : page.index("</tr>", start)]


# --- who may read them ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [REPORT, CSV, AT_RISK])
@pytest.mark.parametrize("role", ["auditor", "front_desk", "admissions"])
def test_roles_without_dose_figures_are_refused(
    url: str, role: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role)
    assert signed_in(user).get(url).status_code == 403
    assert not AuditEvent.objects.filter(section__in=["dose report", "at-risk list"]).exists()


@pytest.mark.parametrize("url", [REPORT, CSV, AT_RISK])
def test_signed_out_people_are_sent_to_sign_in(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and "login" in response["Location"]


def test_billing_reads_the_report(billing: User, week: dict[str, EpisodeOfCare]) -> None:
    page = body(report(signed_in(billing)))
    for e in week.values():
        assert e.patient.last_name in page


def test_a_clinician_of_another_facility_sees_none_of_these_patients(
    other_clinician: User, week: dict[str, EpisodeOfCare]
) -> None:
    for url in (REPORT, AT_RISK):
        response = signed_in(other_clinician).get(url, {"week": MONDAY.isoformat()})
        assert response.status_code == 200
        page = body(response)
        for e in week.values():
            assert e.patient.last_name not in page


def test_a_clinician_sees_their_caseload_and_the_director_the_facility(
    clinician: User,
    director: User,
    facility: Facility,
    program: Program,
    unassigned_patient: Patient,
    week: dict[str, EpisodeOfCare],
) -> None:
    make_episode(unassigned_patient, program, director)
    mine = body(report(signed_in(clinician)))
    assert unassigned_patient.last_name not in mine
    assert "Ashby" in mine
    everyone = body(report(signed_in(director)))
    assert unassigned_patient.last_name in everyone and "Ashby" in everyone


# --- the weekly dose report ----------------------------------------------------------------------


def test_the_report_shows_each_episode_with_its_hours_days_and_status(
    clinician: User, week: dict[str, EpisodeOfCare]
) -> None:
    page = body(report(signed_in(clinician)))
    assert "Dose report — Week of March 2, 2026" in page

    meets = row_of(page, week["meets"])
    assert "<td>9</td>" in meets and "<td>3</td>" in meets and "Meets the minimum" in meets
    assert "Adult IOP" in meets and "Engagement" in meets and clinician.display_name in meets

    below = row_of(page, week["below"])
    assert "<td>3</td>" in below and "<td>1</td>" in below
    assert "Below the minimum" in below
    assert "needs 2 more service days and 6 more hours" in below

    above = row_of(page, week["above"])
    assert "<td>25</td>" in above and "<td>5</td>" in above and "Above the maximum" in above


def test_the_counts_are_the_whole_week_and_the_filter_picks_rows(
    clinician: User, week: dict[str, EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    everyone = report(client)
    assert [(label, n) for _s, label, n, _k in everyone.context["counts"]] == [
        ("Meets the minimum", 1),
        ("Below the minimum", 1),
        ("Above the maximum", 1),
    ]
    below = report(client, show="below")
    assert [r.patient_id for r in below.context["rows"]] == [week["below"].patient_id]
    assert below.context["counts"] == everyone.context["counts"]
    page = body(below)
    assert week["meets"].patient.last_name not in page.split("<table", 1)[1]

    above = report(client, show="above")
    assert [r.patient_id for r in above.context["rows"]] == [week["above"].patient_id]
    unknown = report(client, show="everything")
    assert len(unknown.context["rows"]) == 3


def test_the_week_is_any_day_of_it_and_bad_dates_fall_back_to_this_week(
    clinician: User, facility: Facility, week: dict[str, EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    by_friday = client.get(REPORT, {"week": FRIDAY.isoformat()})
    assert by_friday.context["monday"] == MONDAY
    assert by_friday.context["previous"] == MONDAY - dt.timedelta(days=7)
    assert by_friday.context["next"] == MONDAY + dt.timedelta(days=7)
    this_week = rules.week_start(selectors.today_at(facility))
    for bad in ("", "2026-02-30", "next tuesday"):
        response = client.get(REPORT, {"week": bad})
        assert response.status_code == 200
        assert response.context["monday"] == this_week
        assert response.context["in_progress"] is True
        assert response.context["next"] is None  # no week after the current one


def test_reading_the_report_audits_one_view_per_patient_shown(
    clinician: User, facility: Facility, week: dict[str, EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    report(client)
    events = AuditEvent.objects.filter(section="dose report")
    assert sorted(events.values_list("patient_id", flat=True)) == sorted(
        e.patient_id for e in week.values()
    )
    assert {(e.action, e.actor_id, e.facility_id) for e in events} == {
        (AuditEvent.Action.VIEW, clinician.pk, facility.pk)
    }
    assert events.first().detail == {"week": MONDAY.isoformat()}  # type: ignore[union-attr]

    report(client, show="below")
    latest = AuditEvent.objects.filter(section="dose report").order_by("-id").first()
    assert latest is not None and latest.patient_id == week["below"].patient_id
    assert AuditEvent.objects.filter(section="dose report").count() == 4


def test_an_empty_report_is_still_recorded(clinician: User) -> None:
    page = body(report(signed_in(clinician)))
    assert "Nobody you can see was in care at this facility that week." in page
    event = AuditEvent.objects.get(section="dose report")
    assert event.patient_id is None and event.detail["results"] == 0


def test_the_report_costs_the_same_queries_for_3_or_15_patients(
    clinician: User,
    facility: Facility,
    program: Program,
    front_desk: User,
    mwf: Schedule,
    django_assert_max_num_queries: Any,
) -> None:
    first = [admit(facility, program, clinician, f"Few{n}") for n in range(3)]
    f.came(front_desk, f.session_on(mwf, MONDAY), *first)
    client = signed_in(clinician)
    report(client)  # warm the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = report(client)
        assert response.status_code == 200
        return len(queries)

    few = count()
    more = [admit(facility, program, clinician, f"Many{n}") for n in range(12)]
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), *first, *more)
    many = count()
    assert len(report(client).context["rows"]) == 15
    assert many == few
    with django_assert_max_num_queries(few):
        report(client, show="below")


def test_a_long_report_comes_in_pages_and_audits_the_page_shown(
    clinician: User,
    facility: Facility,
    program: Program,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("openiop.scheduling.views_dose.PAGE_SIZE", 2)
    for n in range(5):
        admit(facility, program, clinician, f"Paged{n}")
    client = signed_in(clinician)
    first = report(client)
    assert [r.patient for r in first.context["rows"]] == ["Test Paged0", "Test Paged1"]
    assert "Rows 1–2 of 5" in body(first)
    assert first.context["total"] == 5  # the counts are the whole week's
    before = AuditEvent.objects.filter(section="dose report").count()
    last = client.get(REPORT, {"week": MONDAY.isoformat(), "page": "3"})
    assert [r.patient for r in last.context["rows"]] == ["Test Paged4"]
    assert AuditEvent.objects.filter(section="dose report").count() == before + 1


# --- the CSV -------------------------------------------------------------------------------------


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_has_the_rows_and_columns_of_the_page(
    clinician: User, week: dict[str, EpisodeOfCare]
) -> None:
    response = signed_in(clinician).get(CSV, {"week": MONDAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dose-report-2026-03-02.csv"'
    header, *rows = rows_of(response)
    assert header == [
        "Patient",
        "Program",
        "Track",
        "Phase",
        "Primary clinician",
        "Hours attended",
        "Service days",
        "Status",
    ]
    by_name = {r[0]: r for r in rows}
    assert len(by_name) == 3
    below = by_name[week["below"].patient.display_name]
    assert below[5:] == [
        "3",
        "1",
        "Below the minimum: needs 2 more service days and 6 more hours",
    ]
    assert by_name[week["above"].patient.display_name][5:] == ["25", "5", "Above the maximum"]
    assert all(len(r) == len(header) for r in rows)
    assert not any(week["meets"].patient.mrn in cell for r in rows for cell in r)


def test_the_csv_follows_the_filter_and_is_audited_as_an_export(
    clinician: User, week: dict[str, EpisodeOfCare]
) -> None:
    response = signed_in(clinician).get(CSV, {"week": MONDAY.isoformat(), "show": "below"})
    _header, *rows = rows_of(response)
    assert [r[0] for r in rows] == [week["below"].patient.display_name]
    assert "dose-report-2026-03-02-below.csv" in response["Content-Disposition"]
    [event] = AuditEvent.objects.filter(section="dose report")
    assert event.action == AuditEvent.Action.EXPORT
    assert event.patient_id == week["below"].patient_id
    assert event.detail == {"week": "2026-03-02", "format": "csv", "show": "below"}


def test_a_name_that_looks_like_a_formula_is_not_run_by_a_spreadsheet(
    clinician: User, facility: Facility, program: Program
) -> None:
    admit(facility, program, clinician, "=HYPERLINK(1)")
    _header, row = rows_of(signed_in(clinician).get(CSV, {"week": MONDAY.isoformat()}))
    assert row[0] == "Test =HYPERLINK(1)"  # the first name comes first: nothing to escape
    assert row[7].startswith("Below")

    episode = admit(facility, program, clinician, "Rivera")
    episode.patient.first_name = "@SUM(A1)"
    episode.patient.save()
    rows = rows_of(signed_in(clinician).get(CSV, {"week": MONDAY.isoformat()}))
    assert "'@SUM(A1) Rivera" in [r[0] for r in rows]


# --- the at-risk list ----------------------------------------------------------------------------


def test_the_at_risk_list_shows_who_has_not_come_for_a_week(
    clinician: User,
    facility: Facility,
    program: Program,
    week: dict[str, EpisodeOfCare],
) -> None:
    today = selectors.today_at(facility)
    newcomer = PatientFactory.create(facility=facility, first_name="Test", last_name="Never")
    CareTeamMemberFactory.create(patient=newcomer, user=clinician)
    never = make_episode(newcomer, program, clinician, admission_date=today - dt.timedelta(days=10))
    just_admitted = admit(facility, program, clinician, "Newcomer")
    just_admitted.admission_date = today - dt.timedelta(days=3)
    just_admitted.save()

    response = signed_in(clinician).get(AT_RISK)
    assert response.status_code == 200
    page = body(response)
    shown = [r.risk.episode for r in response.context["rows"]]
    assert shown[0] == never  # never attended comes first
    assert set(shown) == {never, *week.values()}
    assert "Newcomer" not in page
    never_row = row_of(page, never)
    assert "Never" in never_row and "11 in care" in never_row
    friday_row = row_of(page, week["meets"])
    assert "Fri 3/6/2026" in friday_row and f"<td>{(today - FRIDAY).days}</td>" in friday_row
    assert clinician.display_name in friday_row


def test_the_at_risk_list_audits_one_view_per_patient_and_costs_the_same(
    clinician: User,
    facility: Facility,
    program: Program,
    front_desk: User,
    mwf: Schedule,
) -> None:
    first = [admit(facility, program, clinician, f"Few{n}") for n in range(3)]
    f.came(front_desk, f.session_on(mwf, MONDAY), *first)
    client = signed_in(clinician)
    client.get(AT_RISK)
    events = AuditEvent.objects.filter(section="at-risk list")
    assert sorted(events.values_list("patient_id", flat=True)) == sorted(
        e.patient_id for e in first
    )
    assert {e.action for e in events} == {AuditEvent.Action.VIEW}

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(AT_RISK).status_code == 200
        return len(queries)

    few = count()
    more = [admit(facility, program, clinician, f"Many{n}") for n in range(12)]
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), *more)
    assert count() == few
    assert len(client.get(AT_RISK).context["rows"]) == 15


# --- the home-page panel -------------------------------------------------------------------------


def test_the_home_panel_shows_the_clinicians_at_risk_and_short_weeks(
    clinician: User, facility: Facility, week: dict[str, EpisodeOfCare]
) -> None:
    page = body(signed_in(clinician).get(reverse("home")))
    assert "Attendance: at risk and short weeks" in page
    for e in week.values():
        assert reverse("scheduling:patient", args=[e.patient_id]) in page
    last_week = rules.week_start(selectors.today_at(facility)) - dt.timedelta(days=7)
    assert "<strong>3</strong> people were below the program" in page
    assert f"{REPORT}?week={last_week.isoformat()}&amp;show=below" in page
    assert AT_RISK in page


@pytest.mark.parametrize("role", ["billing", "front_desk", "auditor"])
def test_the_home_panel_is_for_the_clinical_team(
    role: str, request: pytest.FixtureRequest, facility: Facility
) -> None:
    user: User = request.getfixturevalue(role)
    assert home.attendance_watch(user, facility) is None


def test_the_home_panel_costs_the_same_queries_for_3_or_15_patients(
    clinician: User, facility: Facility, program: Program, front_desk: User, mwf: Schedule
) -> None:
    def count() -> tuple[int, Any]:
        with CaptureQueriesContext(connection) as queries:
            panel = home.attendance_watch(clinician, facility)
            assert panel is not None
            html = render_to_string(panel.template, {"panel": panel.context})
        return len(queries), (panel, html)

    first = [admit(facility, program, clinician, f"Few{n}") for n in range(3)]
    f.came(front_desk, f.session_on(mwf, MONDAY), *first)
    few, _ = count()
    [admit(facility, program, clinician, f"Many{n}") for n in range(12)]
    many, (panel, html) = count()
    assert many == few <= 5  # two reads, each with the user's scope, and one audit insert
    assert len(panel.context["at_risk"]) == home.SHOWN and panel.context["more"] == 15 - home.SHOWN
    audited = AuditEvent.objects.filter(section="at-risk list (home page)", actor=clinician)
    last = set(audited.order_by("-pk")[: home.SHOWN].values_list("patient_id", flat=True))
    assert last == {r.episode.patient_id for r in panel.context["at_risk"]}  # names shown
    assert "and 7 more." in html
    assert panel.context["below"] == 15
