"""The audit trail is append-only at every layer: model, queryset, admin, API and database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.admin import AuditEventAdmin
from openiop.audit.models import AppendOnlyError, AuditEvent
from openiop.audit.purge import allow_audit_purge
from openiop.audit.services import record
from tests.conftest import api_signed_in, signed_in

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def event(clinician: User) -> AuditEvent:
    return record(actor=clinician, action=AuditEvent.Action.VIEW, section="chart summary")


def raw_sql(sql: str, params: Sequence[Any] | None = None) -> None:
    """Straight to the database, in its own transaction so a refusal leaves the test usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def stored(event: AuditEvent) -> dict[str, Any]:
    return dict(AuditEvent.objects.values().get(pk=event.pk))


def test_it_refuses_to_save_an_existing_record_again(event: AuditEvent) -> None:
    before = stored(event)
    event.action = AuditEvent.Action.DELETE
    with pytest.raises(AppendOnlyError):
        event.save()
    assert stored(event) == before


def test_it_refuses_to_save_a_record_loaded_from_the_database(event: AuditEvent) -> None:
    loaded = AuditEvent.objects.get(pk=event.pk)
    loaded.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        loaded.save()
    with pytest.raises(AppendOnlyError):
        loaded.save(update_fields=["reason"])
    assert stored(event)["reason"] == ""


def test_it_refuses_to_delete_a_record(event: AuditEvent) -> None:
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_refuses_queryset_updates_and_deletes(event: AuditEvent) -> None:
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(reason="tampered")
    assert stored(event)["reason"] == ""


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET reason = 'tampered'",  # noqa: S608
        f"UPDATE {TABLE} SET at = '2001-01-01 00:00:00'",  # noqa: S608
        f"DELETE FROM {TABLE}",  # noqa: S608
    ],
)
def test_it_refuses_raw_sql_changes_in_the_database_itself(event: AuditEvent, sql: str) -> None:
    before = stored(event)
    with pytest.raises(DatabaseError, match="append-only"):
        raw_sql(sql)
    assert stored(event) == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_it_refuses_truncate_on_postgresql(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="append-only"):
        raw_sql(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_lets_only_a_retention_purge_delete(event: AuditEvent) -> None:
    with allow_audit_purge(connection):
        raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])  # noqa: S608
    assert not AuditEvent.objects.filter(pk=event.pk).exists()
    # … and the permission ends with the purge.
    other = record(actor=None, action=AuditEvent.Action.SIGN_IN_FAILED)
    with pytest.raises(DatabaseError):
        raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [other.pk])  # noqa: S608
    assert AuditEvent.objects.filter(pk=other.pk).exists()


def test_it_never_lets_a_purge_update(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError), allow_audit_purge(connection):
        raw_sql(f"UPDATE {TABLE} SET reason = 'tampered'")  # noqa: S608
    assert stored(event)["reason"] == ""


# --- the admin ------------------------------------------------------------------------------


def test_it_offers_no_add_change_or_delete_in_the_admin(administrator: User, rf: object) -> None:
    model_admin = AuditEventAdmin(AuditEvent, admin.site)
    request = rf.get("/admin/")  # type: ignore[attr-defined]
    request.user = administrator
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_view_permission(request) is True


def test_it_shows_the_trail_read_only_in_the_admin(
    administrator: User, admin_client_: Client, event: AuditEvent
) -> None:
    url = f"/admin/audit/auditevent/{event.pk}/change/"
    page = admin_client_.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    before = stored(event)
    response = admin_client_.post(url, {"action": "delete", "reason": "tampered", "_save": "Save"})
    assert response.status_code == 403
    assert admin_client_.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client_.post("/admin/audit/auditevent/add/", {"action": "view"}).status_code == 403
    deleting = admin_client_.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert deleting.status_code == 403
    changelist = admin_client_.get("/admin/audit/auditevent/")
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert "/admin/audit/auditevent/add/" not in changelist.content.decode()
    admin_client_.post(
        "/admin/audit/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert stored(event) == before


# --- the API ------------------------------------------------------------------------------------


def test_it_serves_the_trail_read_only_through_the_api(auditor: User, event: AuditEvent) -> None:
    client = api_signed_in(auditor)
    assert client.get(f"/api/v1/audit-events/{event.pk}/").json()["reason"] == ""
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(
            f"/api/v1/audit-events/{event.pk}/", {"reason": "tampered"}, format="json"
        )
        assert response.status_code == 405
    assert (
        client.post("/api/v1/audit-events/", {"action": "view"}, format="json").status_code == 405
    )
    assert AuditEvent.objects.values().get(pk=event.pk)["reason"] == ""
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).count() == 1


def test_it_keeps_the_api_trail_from_non_auditors(clinician: User, event: AuditEvent) -> None:
    response = api_signed_in(clinician).get("/api/v1/audit-events/")
    assert response.status_code == 403


# --- retention ----------------------------------------------------------------------------------


def years_ago(years: int, days: int = 0) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=365 * years + years // 4 + days)


@pytest.fixture
def aged(db: None) -> dict[str, AuditEvent]:
    return {
        age: AuditEvent.objects.create(at=at, action=AuditEvent.Action.SIGN_IN, actor_label=age)
        for age, at in {
            "eight years": years_ago(8),
            "six years and a month": years_ago(6, days=30),
            "five years": years_ago(5),
            "today": timezone.now(),
        }.items()
    }


def test_it_purges_only_records_older_than_the_years_given(aged: dict[str, AuditEvent]) -> None:
    out = StringIO()
    call_command("purge_audit_trail", "--years", "6", "--yes", stdout=out)
    left = set(
        AuditEvent.objects.exclude(section="audit retention purge").values_list(
            "actor_label", flat=True
        )
    )
    assert left == {"five years", "today"}
    assert "Removed 2 audit records older than 6 years." in out.getvalue()
    purge = AuditEvent.objects.get(section="audit retention purge")
    assert (purge.action, purge.detail) == (
        AuditEvent.Action.DELETE,
        {"removed": 2, "older_than_years": 6},
    )


def test_it_keeps_seven_years_by_default(aged: dict[str, AuditEvent]) -> None:
    call_command("purge_audit_trail", "--yes", stdout=StringIO())
    assert not AuditEvent.objects.filter(actor_label="eight years").exists()
    assert AuditEvent.objects.filter(actor_label="six years and a month").exists()


def test_it_only_counts_without_yes(aged: dict[str, AuditEvent]) -> None:
    out = StringIO()
    call_command("purge_audit_trail", "--years", "6", stdout=out)
    assert "2 records are older than 6 years. Add --yes to remove them." in out.getvalue()
    assert AuditEvent.objects.count() == 4


@pytest.mark.parametrize("years", ["5", "0", "-1"])
def test_it_refuses_to_purge_records_younger_than_six_years(
    aged: dict[str, AuditEvent], years: str
) -> None:
    with pytest.raises(CommandError, match="at least 6 years"):
        call_command("purge_audit_trail", "--years", years, "--yes", stdout=StringIO())
    assert AuditEvent.objects.count() == 4


def test_it_still_refuses_ordinary_deletes_after_a_purge(aged: dict[str, AuditEvent]) -> None:
    call_command("purge_audit_trail", "--years", "6", "--yes", stdout=StringIO())
    with pytest.raises(DatabaseError):
        raw_sql(f"DELETE FROM {TABLE}")  # noqa: S608
    assert AuditEvent.objects.filter(actor_label="today").exists()


def test_it_shows_an_auditor_failed_attempts_on_colleagues_accounts_only(
    auditor: User, clinician: User, other_clinician: User
) -> None:
    for login in (clinician.email, other_clinician.email, "nobody@example.org"):
        Client().post("/accounts/login/", {"login": login, "password": "guess-guess-1"})
    page = signed_in(auditor).get("/audit/?action=sign_in_failed").content.decode()
    assert clinician.email in page
    # Another organization's staff and unknown addresses are not this auditor's business.
    assert other_clinician.email not in page
    assert "nobody@example.org" not in page
