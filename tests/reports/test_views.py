"""The report pages, the dashboard and the CSV download through the test client: who may read
what, the filters and their messages, the CSV, the audit records, and a constant number of
queries whatever the size of the data.

Pages work on the facility's real local date, so the data here is dated back from it
(``live_dataset``; the same stays as ``report_dataset``, see test_operations.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.reports import registry
from openiop.reports.base import reports_for
from openiop.reports.forms import END_BEFORE_START, IN_FUTURE, PROGRAM_ELSEWHERE, TOO_LONG
from tests.conftest import body, signed_in
from tests.reports.conftest import Dataset, Stays

OPERATIONS = ("census", "length-of-stay", "completion", "retention", "attendance", "dose")


def local_today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def url(key: str, **query: Any) -> str:
    path = reverse("reports:report", args=[key])
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def csv_url(key: str, **query: Any) -> str:
    path = reverse("reports:report_csv", args=[key])
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def csv_text(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


# --- who may read ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR, Role.CLINICAL_SUPERVISOR]
)
def test_the_clinical_leads_read_every_report(
    role: str, make_user: Callable[..., User], live_dataset: Dataset
) -> None:
    client = signed_in(make_user(role))
    assert client.get(reverse("reports:dashboard")).status_code == 200
    assert client.get(reverse("reports:index")).status_code == 200
    for key in (*OPERATIONS, "caseload"):
        assert client.get(url(key)).status_code == 200, key
        assert client.get(csv_url(key)).status_code == 200, key


@pytest.mark.django_db
def test_a_clinician_is_refused_and_the_refusal_is_audited(
    clinician: User, live_dataset: Dataset
) -> None:
    client = signed_in(clinician)
    for path in (
        reverse("reports:dashboard"),
        reverse("reports:index"),
        url("census"),
        csv_url("census"),
    ):
        assert client.get(path).status_code == 403, path
    refusals = AuditEvent.objects.filter(actor=clinician, action=AuditEvent.Action.DENIED)
    assert refusals.count() == 4
    assert refusals.filter(detail__report="census").count() == 2
    assert not AuditEvent.objects.filter(actor=clinician, action=AuditEvent.Action.VIEW).exists()


@pytest.mark.django_db
def test_the_alumni_coordinator_reads_only_alumni_outcomes(
    alumni_coordinator: User, live_dataset: Dataset
) -> None:
    client = signed_in(alumni_coordinator)
    registry.load()
    readable = [r.key for r in reports_for(alumni_coordinator)]
    assert all(
        r.permission == "reports.view_alumni_outcomes" for r in reports_for(alumni_coordinator)
    )
    dashboard = client.get(reverse("reports:dashboard"))
    assert dashboard.status_code == 200
    page = body(dashboard)
    assert "In care today" not in page  # no program figures
    assert "Census, admissions and discharges" not in page
    for key in (*OPERATIONS, "caseload"):
        assert client.get(url(key)).status_code == 403, key
    if "alumni-outcomes" in registry.load():
        assert readable == ["alumni-outcomes"]
        assert "Alumni outcomes" in page
        assert client.get(url("alumni-outcomes")).status_code == 200
    else:
        # The clinical reports are written separately; the reduced page still has no link.
        assert readable == []
        assert "No report is open to your role yet." in page


@pytest.mark.django_db
def test_an_unknown_report_is_not_found(director_client: Client) -> None:
    assert director_client.get(url("no-such-report")).status_code == 404
    assert director_client.get(csv_url("no-such-report")).status_code == 404


@pytest.mark.django_db
def test_signed_out_people_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(url("census"))
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- the report page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_report_page_shows_the_figures_chart_table_and_notes(
    director_client: Client, live_dataset: Dataset, facility: Facility
) -> None:
    today = live_dataset.today
    start = today - dt.timedelta(days=200)
    response = director_client.get(url("completion", start=start, end=today))
    assert response.status_code == 200
    page = body(response)
    assert "Completion rate" in page
    assert "40 %" in page  # 2 of 5; the other organization's discharge is not counted
    assert "2 of 5" in page
    assert 'id="report-chart-data"' in page  # the chart's data (json_script)
    assert "vendor/chartjs/chart.umd.js" in page
    assert "<caption>Completion rate and discharge reasons</caption>" in page
    assert "How these figures are counted" in page
    assert csv_url("completion") in page
    assert "Export in the background" in page
    assert reverse("reports:export_start", args=["report-completion"]) in page
    assert "Reportcase" not in page  # no patient named
    chart = response.context["chart"]
    assert chart["kind"] == "doughnut"
    assert chart["datasets"][0]["data"][:2] == [1, 1]


@pytest.mark.django_db
def test_the_report_opens_on_the_current_facility_and_its_usual_range(
    director_client: Client, live_dataset: Dataset, facility: Facility
) -> None:
    response = director_client.get(url("retention"))
    form = response.context["form"]
    today = live_dataset.today
    assert form.cleaned_data["facility"] == facility
    assert form.cleaned_data["start"] == today - dt.timedelta(days=364)
    assert form.cleaned_data["end"] == today


@pytest.mark.django_db
def test_the_report_page_is_audited_with_its_filters(
    director: User, director_client: Client, live_dataset: Dataset, program: Program
) -> None:
    today = live_dataset.today
    director_client.get(url("census", program=program.pk, start=today, end=today))
    event = AuditEvent.objects.get(actor=director, action=AuditEvent.Action.VIEW)
    assert event.section == "reports"
    assert event.patient_id is None
    assert event.detail["report"] == "census"
    assert event.detail["program"] == program.pk
    assert event.detail["start"] == today.isoformat()


@pytest.mark.django_db
def test_the_program_filter(
    director_client: Client, live_dataset: Dataset, second_program: Program
) -> None:
    today = live_dataset.today
    response = director_client.get(url("census", program=second_program.pk, start=today, end=today))
    assert response.context["result"].rows[0]["in_care"] == 1
    response = director_client.get(url("census", start=today, end=today))
    assert response.context["result"].rows[0]["in_care"] == 3


@pytest.mark.django_db
def test_all_my_facilities_never_includes_another_organization(
    director: User, live_dataset: Dataset, foreign_facility: Facility, other_facility: Facility
) -> None:
    """A director of two facilities sees both together; the other organization's stays never
    count, and asking for its facility by number is refused."""
    director.facilities.add(other_facility)
    client = signed_in(director)
    today = live_dataset.today
    start = today - dt.timedelta(days=200)
    response = client.get(url("completion", facility="", start=start, end=today))
    assert response.status_code == 200
    assert dict(response.context["result"].summary)["Discharges"] == "5"
    refused = client.get(url("completion", facility=foreign_facility.pk, start=start, end=today))
    assert refused.status_code == 400
    assert "Select a valid choice" in body(refused)
    assert refused.context["result"] is None


@pytest.mark.django_db
def test_the_end_before_the_start_is_refused_with_a_message(
    director: User, director_client: Client, live_dataset: Dataset
) -> None:
    today = live_dataset.today
    response = director_client.get(url("census", start=today, end=today - dt.timedelta(days=1)))
    assert response.status_code == 400
    page = body(response)
    assert END_BEFORE_START in page
    assert "nothing was counted" in page
    assert response.context["result"] is None
    assert not AuditEvent.objects.filter(actor=director, action=AuditEvent.Action.VIEW).exists()
    csv = director_client.get(csv_url("census", start=today, end=today - dt.timedelta(days=1)))
    assert csv.status_code == 400
    assert END_BEFORE_START in body(csv)


@pytest.mark.django_db
def test_other_bad_filters_are_refused_with_a_message(
    director_client: Client, live_dataset: Dataset, facility: Facility, other_facility: Facility
) -> None:
    today = live_dataset.today
    too_long = director_client.get(
        url("census", start=today - dt.timedelta(days=5 * 365 + 2), end=today)
    )
    assert too_long.status_code == 400
    assert TOO_LONG in body(too_long)
    five_years = director_client.get(
        url("census", start=today - dt.timedelta(days=5 * 365 + 1), end=today)
    )
    assert five_years.status_code == 200
    future = director_client.get(url("census", start=today, end=today + dt.timedelta(days=1)))
    assert future.status_code == 400
    assert IN_FUTURE in body(future)
    not_a_date = director_client.get(url("census", start="yesterday", end=today))
    assert not_a_date.status_code == 400
    assert "Enter a valid date." in body(not_a_date)


@pytest.mark.django_db
def test_a_program_of_another_facility_than_the_one_chosen_is_refused(
    director: User, live_dataset: Dataset, facility: Facility, other_facility: Facility
) -> None:
    director.facilities.add(other_facility)
    elsewhere = Program.objects.create(
        facility=other_facility,
        name="Other IOP",
        level_of_care="2.1",
        min_hours_per_day=3,
        min_days_per_week=3,
        min_hours_per_week=9,
    )
    response = signed_in(director).get(url("census", facility=facility.pk, program=elsewhere.pk))
    assert response.status_code == 400
    assert PROGRAM_ELSEWHERE in body(response)


@pytest.mark.django_db
def test_caseload_names_staff_but_no_patient(
    director_client: Client, live_dataset: Dataset, clinician: User
) -> None:
    page = body(director_client.get(url("caseload")))
    assert clinician.display_name in page
    assert "names staff, never patients" in page
    assert "Reportcase" not in page


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_csv_holds_the_table_with_the_same_filters(
    director: User, director_client: Client, live_dataset: Dataset, facility: Facility
) -> None:
    today = live_dataset.today
    start = today - dt.timedelta(days=2)
    response = director_client.get(csv_url("census", start=start, end=today))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="openiop-census-{start.isoformat()}-to-{today.isoformat()}.csv"'
    )
    lines = csv_text(response).splitlines()
    assert lines[0] == "Day,In care,Admissions,Discharges"
    # Yesterday and the day before: open_long and recent; today also "today" admitted.
    assert lines[1:] == [
        f"{start.isoformat()},2,0,0",
        f"{(start + dt.timedelta(days=1)).isoformat()},2,0,0",
        f"{today.isoformat()},3,1,0",
    ]
    event = AuditEvent.objects.get(actor=director, action=AuditEvent.Action.EXPORT)
    assert event.detail["report"] == "census"
    assert event.detail["format"] == "csv"
    assert event.detail["start"] == start.isoformat()
    assert event.facility_id == facility.pk


@pytest.mark.django_db
def test_the_csv_writes_percentages_as_numbers_and_empty_for_none(
    director_client: Client, live_dataset: Dataset
) -> None:
    today = live_dataset.today
    text = csv_text(
        director_client.get(csv_url("retention", start=today - dt.timedelta(days=200), end=today))
    )
    lines = text.splitlines()
    assert lines[0] == "Admitted in,Admissions,Reached day 90,In care on day 90,Retention"
    rates = [line.rsplit(",", 1)[1] for line in lines[1:]]
    # This month's admissions have not reached day 90: no rate, an empty cell.
    assert rates[-1] == ""
    assert all(r == "" or 0 <= float(r) <= 100 for r in rates)
    assert any(r.endswith(".0") or "." in r for r in rates)
    assert "Reportcase" not in text


# --- the dashboard -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_shows_the_headline_figures_and_links(
    director: User, director_client: Client, live_dataset: Dataset
) -> None:
    response = director_client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    tiles = {t["label"]: t for t in response.context["tiles"]}
    assert tiles["In care today"]["value"] == "3"
    assert tiles["Admissions"]["value"] == "2"
    assert tiles["Discharges"]["value"] == "1"
    assert tiles["Completion rate"]["value"] == "40 %"
    assert tiles["90-day retention"]["value"] == "66.7 %"
    assert tiles["Completion rate"]["url"].startswith(url("completion"))
    page = body(response)
    assert "People in care, last 90 days" in page
    assert 'id="dashboard-census-data"' in page
    for report in reports_for(director):
        assert reverse("reports:report", args=[report.key]) in page
    assert "Follow-ups due" in page
    assert AuditEvent.objects.filter(
        actor=director, action=AuditEvent.Action.VIEW, section="reports dashboard"
    ).exists()


@pytest.mark.django_db
def test_the_dashboard_shows_the_clinical_reports_work_left_undone_when_they_exist(
    director_client: Client, live_dataset: Dataset
) -> None:
    reports = registry.load()
    tiles = director_client.get(reverse("reports:dashboard")).context["tiles"]
    links = [t["url"].split("?")[0] for t in tiles]
    for key in ("unsigned-notes", "plan-reviews-overdue"):
        # Written with the clinical reports; their tile comes with them.
        assert (reverse("reports:report", args=[key]) in links) == (key in reports)


# --- a constant number of queries --------------------------------------------------------------


def _queries(client: Client, path: str) -> int:
    """The queries of the page, without the session write the idle timeout makes at most
    once every 30 seconds (the fewer of two requests in a row)."""
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
            if isinstance(response, StreamingHttpResponse):
                csv_text(response)
        assert response.status_code == 200, path
        counts.append(len(captured.captured_queries))
    return min(counts)


def _more_data(stays: Stays, program: Program, today: dt.date, n: int) -> None:
    for i in range(n):
        admitted = today - dt.timedelta(days=30 + 3 * i)
        ep = stays.stay(
            program,
            admitted,
            admitted + dt.timedelta(days=20 + i) if i % 2 else None,
            reason="completed" if i % 3 else "stopped_attending",
        )
        stays.attend(ep, admitted + dt.timedelta(days=1))
        stays.attend(ep, admitted + dt.timedelta(days=2), "unexcused")
        stays.dose(
            ep, (admitted + dt.timedelta(days=1), 180), (admitted + dt.timedelta(days=3), 200)
        )


@pytest.mark.django_db
def test_every_page_costs_the_same_queries_at_two_data_sizes(
    director: User, live_dataset: Dataset, stays: Stays, program: Program
) -> None:
    client = signed_in(director)
    today = live_dataset.today
    start = (today - dt.timedelta(days=365)).isoformat()
    paths = [reverse("reports:dashboard"), reverse("reports:index")]
    for key in (*OPERATIONS, "caseload"):
        paths += [url(key, start=start, end=today), csv_url(key, start=start, end=today)]
    _more_data(stays, program, today, 3)
    small = {p: _queries(client, p) for p in paths}
    _more_data(stays, program, today, 30)
    large = {p: _queries(client, p) for p in paths}
    assert large == small
    # And few: the session, the user, the facilities, the form's lists, the report's
    # aggregates and the audit record.
    for path, count in large.items():
        limit = 40 if path == reverse("reports:dashboard") else 15
        assert count <= limit, (path, count)
