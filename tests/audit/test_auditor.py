"""Reading the audit trail: filters, the CSV download, and who may read it at all."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.audit.views import CSV_COLUMNS
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, body, signed_in

Action = AuditEvent.Action
UTC = dt.UTC


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def trail(
    clinician: User,
    director: User,
    patient: Patient,
    unassigned_patient: Patient,
    other_clinician: User,
    outside_patient: Patient,
) -> dict[str, AuditEvent]:
    def make(label: str, actor: User, action: str, who: Patient, when: dt.datetime) -> AuditEvent:
        return AuditEvent.objects.create(
            at=when,
            actor=actor,
            actor_label=actor.email,
            action=action,
            patient=who,
            facility=who.facility,
            section=label,
            ip="198.51.100.4",
            channel="web",
        )

    return {
        "c-view-1": make("c-view-1", clinician, Action.VIEW, patient, at(1)),
        "c-view-3": make("c-view-3", clinician, Action.VIEW, patient, at(3)),
        "c-print-3": make("c-print-3", clinician, Action.PRINT, patient, at(3, 23)),
        "d-view-5": make("d-view-5", director, Action.VIEW, unassigned_patient, at(5)),
        "d-update-2": make("d-update-2", director, Action.UPDATE, patient, at(2)),
        "elsewhere": make("elsewhere", other_clinician, Action.VIEW, outside_patient, at(3)),
    }


def shown(client: Client, query: str) -> set[str]:
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 200
    # The auditor's own sign-in is in the trail too; these tests are about the rest.
    return {e.section for e in response.context["page"].object_list if e.action != Action.SIGN_IN}


def test_it_shows_the_whole_trail_of_the_auditors_facilities(
    auditor_client: Client, trail: dict[str, AuditEvent]
) -> None:
    assert shown(auditor_client, "") == set(trail) - {"elsewhere"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=view", {"c-view-1", "c-view-3", "d-view-5"}),
        ("action=print", {"c-print-3"}),
        ("start=2026-03-02&end=2026-03-03", {"c-view-3", "c-print-3", "d-update-2"}),
        ("start=2026-03-03&end=2026-03-03", {"c-view-3", "c-print-3"}),  # the whole end day
        ("start=2026-03-04", {"d-view-5"}),
        ("end=2026-03-01", {"c-view-1"}),
        ("action=view&start=2026-03-02", {"c-view-3", "d-view-5"}),
    ],
)
def test_it_filters_by_action_and_dates(
    auditor_client: Client, trail: dict[str, AuditEvent], query: str, expected: set[str]
) -> None:
    assert shown(auditor_client, query) == expected


def test_it_filters_by_staff_member_and_patient(
    auditor_client: Client,
    trail: dict[str, AuditEvent],
    clinician: User,
    director: User,
    patient: Patient,
) -> None:
    assert shown(auditor_client, f"actor={clinician.pk}") == {"c-view-1", "c-view-3", "c-print-3"}
    assert shown(auditor_client, f"patient={patient.pk}") == {
        "c-view-1",
        "c-view-3",
        "c-print-3",
        "d-update-2",
    }
    assert shown(auditor_client, f"actor={director.pk}&patient={patient.pk}") == {"d-update-2"}
    assert shown(
        auditor_client,
        f"actor={clinician.pk}&patient={patient.pk}&action=view&start=2026-03-02&end=2026-03-31",
    ) == {"c-view-3"}


def test_it_shows_newest_first(auditor_client: Client, trail: dict[str, AuditEvent]) -> None:
    response = auditor_client.get("/audit/")
    times = [e.at for e in response.context["page"].object_list]
    assert times == sorted(times, reverse=True)


def test_it_marks_an_end_before_the_start(
    auditor_client: Client, trail: dict[str, AuditEvent]
) -> None:
    response = auditor_client.get("/audit/?start=2026-03-05&end=2026-03-01")
    assert response.status_code == 200
    assert response.context["form"].errors == {"end": ["The end date is before the start date."]}
    assert "The end date is before the start date." in body(response)
    assert list(response.context["page"].object_list) == []


def test_it_refuses_a_staff_member_of_another_facility_as_a_filter(
    auditor_client: Client, trail: dict[str, AuditEvent], other_clinician: User
) -> None:
    response = auditor_client.get(f"/audit/?actor={other_clinician.pk}")
    assert "actor" in response.context["form"].errors


def test_it_pages_through_a_long_trail(auditor_client: Client, clinician: User) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=clinician, actor_label=clinician.email, action=Action.SIGN_IN)
        for _ in range(55)
    )
    first = auditor_client.get(f"/audit/?action=sign_in&actor={clinician.pk}")
    assert len(first.context["page"].object_list) == 50
    assert "Older →" in body(first)
    second = auditor_client.get(f"/audit/?action=sign_in&actor={clinician.pk}&page=2")
    assert len(second.context["page"].object_list) == 5


def rows(response: HttpResponseBase) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    content = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.reader(io.StringIO(content)))


def test_it_downloads_the_filtered_trail_as_csv(
    auditor_client: Client, trail: dict[str, AuditEvent], clinician: User, patient: Patient
) -> None:
    response = auditor_client.get(f"/audit/export.csv?actor={clinician.pk}&action=view")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="openiop-audit-')
    table = rows(response)
    assert table[0] == CSV_COLUMNS
    assert [(r[1], r[2], r[3], r[5], r[10]) for r in table[1:]] == [
        ("clinician@example.org", "view", str(patient.pk), "c-view-3", "198.51.100.4"),
        ("clinician@example.org", "view", str(patient.pk), "c-view-1", "198.51.100.4"),
    ]
    assert table[1][0] == "2026-03-03T12:00:00+00:00"


def test_it_refuses_a_csv_with_bad_filters(auditor_client: Client) -> None:
    response = auditor_client.get("/audit/export.csv?start=2026-03-05&end=2026-03-01")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_it_filters_the_api_trail_the_same_way(
    auditor: User, trail: dict[str, AuditEvent], clinician: User
) -> None:
    client = api_signed_in(auditor)
    data = client.get(f"/api/v1/audit-events/?actor={clinician.pk}&action=print").json()
    assert [e["section"] for e in data["results"]] == ["c-print-3"]
    bad = client.get("/api/v1/audit-events/?start=2026-03-05&end=2026-03-01")
    assert bad.status_code == 400
    assert bad.json() == {"end": ["The end date is before the start date."]}


@pytest.mark.parametrize(
    "role", [Role.CLINICIAN, Role.CLINICAL_DIRECTOR, Role.FRONT_DESK, Role.BILLING, Role.MEDICAL]
)
def test_it_keeps_the_trail_from_everyone_but_auditors_and_administrators(
    role: str, make_user: Callable[..., User], trail: dict[str, AuditEvent]
) -> None:
    client = signed_in(make_user(role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert api_signed_in(make_user(role)).get("/api/v1/audit-events/").status_code == 403
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_it_lets_an_administrator_read_the_trail(
    admin_client_: Client, trail: dict[str, AuditEvent]
) -> None:
    assert shown(admin_client_, "action=print") == {"c-print-3"}


def test_it_sends_anonymous_visitors_of_the_trail_to_sign_in() -> None:
    for path in ("/audit/", "/audit/export.csv"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
