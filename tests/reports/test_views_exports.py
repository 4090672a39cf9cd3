"""The TEDS page and the background-export pages through the test client: roles (403 with an
audit record), the creator only (404 for anyone else), the validation table, the progress
bar that polls while running and stops when finished, and the download."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.reports import exports
from openiop.reports.models import Export
from tests.admissions.factories import program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.reports.teds_data import admitted, discharged, person

TEDS = reverse("reports:teds")
QUARTER = {"kind": "teds-a", "facility": "", "start": "2026-01-01", "end": "2026-03-31"}


@pytest.fixture(autouse=True)
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    settings.OPENIOP_EXPORTS_DIR = tmp_path / "exports"
    return tmp_path / "exports"


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, name="Adult IOP")


@pytest.fixture
def admissions_q1(facility: Facility, program: Program, clinician: User) -> list[EpisodeOfCare]:
    """Two complete admissions and one with missing TEDS answers, in the first quarter."""
    made = []
    for n, (first, last, mrn) in enumerate(
        [
            ("Ana", "Complete", "HTF-500001"),
            ("Ben", "Done", "HTF-500002"),
            ("Cora", "Missing", "HTF-500003"),
        ]
    ):
        patient = person(facility, first_name=first, last_name=last, mrn=mrn)
        made.append(admitted(patient, program, clinician, dt.date(2026, 1, 5 + n), full=n < 2))
    return made


def start_export(
    client: Client, capture: Callable[..., Any], kind: str = "teds-a", **data: str
) -> Any:
    with capture(execute=True):
        return client.post(
            reverse("reports:export_start", args=[kind]),
            {"facility": "", "start": "2026-01-01", "end": "2026-03-31", **data},
        )


# --- the TEDS page --------------------------------------------------------------------------------


def test_the_teds_page_lists_the_records_to_correct(
    director_client: Client,
    director: User,
    admissions_q1: list[EpisodeOfCare],
    django_assert_max_num_queries: Any,
) -> None:
    with django_assert_max_num_queries(13):
        response = director_client.get(TEDS, QUARTER)

    html = body(response)
    assert response.status_code == 200
    assert re.search(r'stat-value">3<.*records', html, re.S)
    assert re.search(r'stat-value">2<.*complete', html, re.S)
    assert re.search(r'stat-value">1<.*with a required field missing', html, re.S)
    assert "Cora Missing" in html and "HTF-500003" in html
    assert "Ana Complete" not in html  # complete records are not listed
    assert "primary substance (SUB1)" in html
    missing = admissions_q1[2]
    assert reverse("admissions:edit", args=[missing.patient_id, missing.pk]) in html
    assert f'action="{reverse("reports:export_start", args=["teds-a"])}"' in html
    assert "Export in the background" in html
    shown = AuditEvent.objects.filter(actor=director, section="TEDS validation")
    assert list(shown.values_list("patient_id", flat=True)) == [missing.patient_id]


def test_the_teds_page_costs_the_same_queries_for_more_records(
    director_client: Client,
    facility: Facility,
    program: Program,
    clinician: User,
    admissions_q1: list[EpisodeOfCare],
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(10):
        admitted(person(facility), program, clinician, dt.date(2026, 2, 1 + n), full=False)
    with django_assert_max_num_queries(13):
        response = director_client.get(TEDS, QUARTER)
    assert body(response).count("Correct the admission") == 11


def test_the_teds_page_checks_discharges(
    director_client: Client, facility: Facility, program: Program, clinician: User
) -> None:
    patient = person(facility, first_name="Dara", last_name="Lacks", mrn="HTF-500009")
    episode = admitted(patient, program, clinician, dt.date(2026, 1, 5))
    summary = discharged(episode, dt.date(2026, 2, 5), clinician, full=False)

    html = body(director_client.get(TEDS, {**QUARTER, "kind": "teds-d"}))

    assert "Dara Lacks" in html
    assert "employment at discharge (EMPLOY_D)" in html
    assert reverse("discharge:summary", args=[summary.pk]) in html


def test_an_end_before_the_start_is_refused_on_the_field(
    director_client: Client, admissions_q1: list[EpisodeOfCare]
) -> None:
    response = director_client.get(TEDS, {**QUARTER, "start": "2026-03-31", "end": "2026-01-01"})

    html = body(response)
    assert response.status_code == 400
    assert "The end date is before the start (03/31/2026)" in html
    assert "stat-value" not in html  # nothing checked


def test_the_teds_page_opens_with_last_month_unchecked(director_client: Client) -> None:
    response = director_client.get(TEDS)
    assert response.status_code == 200
    assert "Check the records" in body(response)
    assert "stat-value" not in body(response)


@pytest.mark.parametrize(
    "role", [Role.CLINICIAN, Role.CLINICAL_SUPERVISOR, Role.AUDITOR, Role.FRONT_DESK]
)
def test_roles_without_the_teds_permission_get_403(
    make_user: Callable[..., User], role: str, django_capture_on_commit_callbacks: Any
) -> None:
    user = make_user(role)
    client = signed_in(user)

    assert client.get(TEDS, QUARTER).status_code == 403
    assert last_event(actor=user).action == AuditEvent.Action.DENIED
    assert start_export(client, django_capture_on_commit_callbacks).status_code == 403
    assert not Export.objects.exists()


def test_signed_out_people_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(TEDS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- starting and following an export -------------------------------------------------------------


def test_starting_an_export_leads_to_its_page_and_the_download(
    director_client: Client,
    admissions_q1: list[EpisodeOfCare],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = start_export(director_client, django_capture_on_commit_callbacks)

    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export", args=[export.token])
    assert str(export.token) in response["Location"]
    page = body(director_client.get(response["Location"]))
    assert "TEDS admissions (TEDS-A), all your facilities, 01/01/2026 to 03/31/2026" in page
    assert '<progress max="100" value="100"' in page
    assert "hx-trigger" not in page  # finished: no more polling
    download = reverse("reports:export_download", args=[export.token])
    assert f'href="{download}"' in page

    file = director_client.get(download)
    assert file.status_code == 200
    assert file["Content-Disposition"] == (
        'attachment; filename="teds-a-2026-01-01-to-2026-03-31.csv"'
    )
    assert file["Cache-Control"] == "no-store, private"
    content = b"".join(file.streaming_content).decode()  # type: ignore[attr-defined]
    assert content.startswith("RECTYPE,ADMTYPE,PROVIDER,CLIENTID,CASEID,ADMIT,")
    assert content.count("\r\n") == 4


def test_a_running_export_polls_its_progress_every_second(
    director: User, director_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        export = exports.start_export(
            actor=director, kind="teds-a", params={"start": "2026-01-01", "end": "2026-01-31"}
        )
    Export.objects.filter(pk=export.pk).update(status="running", progress=42, rows=420)
    url = reverse("reports:export", args=[export.token])

    page = body(director_client.get(url))
    part = director_client.get(url, headers={"HX-Request": "true"})

    assert f'hx-get="{url}"' in page and 'hx-trigger="every 1s"' in page
    assert '<progress max="100" value="42"' in page
    assert "42%" in page and "420 rows written" in page
    assert f'<a href="{url}">Refresh</a>' in page  # without JavaScript
    assert body(part).lstrip().startswith('<div id="export-progress"')
    assert "<html" not in body(part)
    assert 'hx-trigger="every 1s"' in body(part)
    assert reverse("reports:export_download", args=[export.token]) not in page


def test_a_failed_export_shows_the_plain_message(
    director: User, director_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        export = exports.start_export(
            actor=director, kind="teds-a", params={"start": "2026-01-01", "end": "2026-01-31"}
        )
    Export.objects.filter(pk=export.pk).update(status="failed", error=exports.FAILED_MESSAGE)

    part = body(
        director_client.get(
            reverse("reports:export", args=[export.token]), headers={"HX-Request": "true"}
        )
    )

    assert "The export stopped before it was finished" in part
    assert "hx-trigger" not in part


def test_only_the_creator_sees_an_export(
    director_client: Client,
    make_user: Callable[..., User],
    admissions_q1: list[EpisodeOfCare],
    django_capture_on_commit_callbacks: Any,
) -> None:
    start_export(director_client, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    colleague = signed_in(make_user(Role.CLINICAL_DIRECTOR))

    for name in ("reports:export", "reports:export_download"):
        assert colleague.get(reverse(name, args=[export.token])).status_code == 404
    listing = body(colleague.get(reverse("reports:exports")))
    assert str(export.token) not in listing
    assert "You have not started an export yet" in listing


def test_my_exports_are_listed(
    director_client: Client,
    admissions_q1: list[EpisodeOfCare],
    django_capture_on_commit_callbacks: Any,
) -> None:
    start_export(director_client, django_capture_on_commit_callbacks)
    start_export(director_client, django_capture_on_commit_callbacks, "teds-d")

    html = body(director_client.get(reverse("reports:exports")))

    assert html.count("Ready to download") == 2
    assert "TEDS discharges (TEDS-D)" in html and "TEDS admissions (TEDS-A)" in html


def test_starting_needs_a_post(director_client: Client) -> None:
    url = reverse("reports:export_start", args=["teds-a"])
    assert director_client.get(url).status_code == 405


def test_an_unknown_export_kind_is_not_found(
    director_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = start_export(director_client, django_capture_on_commit_callbacks, "report-nope")
    assert response.status_code == 404


def test_a_bad_range_does_not_start_an_export(
    director_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = start_export(
        director_client, django_capture_on_commit_callbacks, start="2026-03-31", end="2026-01-01"
    )

    assert response.status_code == 400
    assert "The end date is before the start (03/31/2026)" in body(response)
    assert not Export.objects.exists()


def test_a_facility_of_someone_else_does_not_start_an_export(
    director_client: Client, other_facility: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    response = start_export(
        director_client, django_capture_on_commit_callbacks, facility=str(other_facility.pk)
    )

    assert response.status_code == 400
    assert not Export.objects.exists()


def test_the_exports_page_is_refused_to_roles_without_exports(
    make_user: Callable[..., User],
) -> None:
    user = make_user(Role.CLINICIAN)
    assert signed_in(user).get(reverse("reports:exports")).status_code == 403
    assert last_event(actor=user).action == AuditEvent.Action.DENIED
