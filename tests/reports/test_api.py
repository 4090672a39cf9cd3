"""Report data over the REST API: the same builders, filters, permissions and audit as the
report pages (400 with field errors, 403 audited, 404 for an unknown report)."""

from __future__ import annotations

import datetime as dt

import pytest

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from tests.conftest import api_signed_in
from tests.reports.conftest import Dataset

pytestmark = pytest.mark.django_db


def test_the_list_names_the_reports_the_role_may_read(
    director: User, alumni_coordinator: User, clinician: User
) -> None:
    keys = [r["key"] for r in api_signed_in(director).get("/api/v1/reports/").json()]
    assert {"census", "completion", "retention", "alumni-outcomes"} <= set(keys)
    alumni = api_signed_in(alumni_coordinator).get("/api/v1/reports/").json()
    assert [r["key"] for r in alumni] == ["alumni-outcomes"]
    refused = api_signed_in(clinician).get("/api/v1/reports/")
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(actor=clinician, action="denied").exists()


def test_one_report_as_json_with_its_filters_and_an_audit_record(
    director: User, facility: Facility, live_dataset: Dataset
) -> None:
    start = live_dataset.today - dt.timedelta(days=365)
    response = api_signed_in(director).get(
        "/api/v1/reports/completion/",
        {
            "facility": str(facility.pk),
            "start": start.isoformat(),
            "end": live_dataset.today.isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["report"]["key"] == "completion"
    assert data["filters"]["facilities"] == [facility.pk]
    assert data["columns"] and data["rows"]
    # Five discharges at our facility (the other organization's never counts), two completed.
    by_reason = {row["reason"]: row["discharges"] for row in data["rows"]}
    assert sum(by_reason.values()) == 5
    assert by_reason["Completed treatment"] == 1
    assert by_reason["Completed IOP, stepping down to less care"] == 1
    assert {"label": "Completed", "value": "2 of 5"} in data["summary"]
    event = AuditEvent.objects.filter(actor=director, section="reports (API)").latest("id")
    assert event.detail["report"] == "completion"


def test_bad_filters_are_400_and_other_refusals(
    director: User, clinician: User, facility: Facility
) -> None:
    api = api_signed_in(director)
    backwards = api.get("/api/v1/reports/census/", {"start": "2026-06-30", "end": "2026-06-01"})
    assert backwards.status_code == 400
    assert "end" in backwards.json()
    assert api.get("/api/v1/reports/no-such-report/").status_code == 404
    refused = api_signed_in(clinician).get("/api/v1/reports/census/")
    assert refused.status_code == 403


def test_the_schema_lists_the_report_endpoints(director: User) -> None:
    paths = api_signed_in(director).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert "/api/v1/reports/" in paths and "/api/v1/reports/{key}/" in paths
