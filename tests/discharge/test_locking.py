"""A signed discharge is immutable in the database itself, not only in the services.

These statements go around the services on purpose (queryset updates, raw SQL, deletes): the
triggers of migration 0002 must refuse them on SQLite and on PostgreSQL alike. A draft can
change; referrals and follow-ups of a signed discharge go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.purge import allow_audit_purge
from openiop.discharge import services
from openiop.discharge.models import Discharge, FollowUp, Referral
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 1)


def refused(statement: Callable[[], object]) -> bool:
    """Whether the database refuses the statement (run in its own savepoint)."""
    try:
        with transaction.atomic():
            statement()
    except DatabaseError as error:
        assert "signed discharge is locked" in str(error)
        return True
    return False


def _draft(clinician: User, episode: EpisodeOfCare) -> Discharge:
    done = services.discharge_patient(
        actor=clinician,
        episode=episode,
        discharge_date=dt.date(2026, 4, 20),
        reason_key="completed",
        step_down="alumni",
        today=TODAY,
    )
    return services.save_summary(
        actor=clinician,
        discharge=done,
        course="Steady attendance; relapse-prevention plan written.",
        condition="Stable and sober.",
        recommendations="Alumni group weekly.",
    )


@pytest.fixture
def signed(clinician: User, episode: EpisodeOfCare) -> Discharge:
    return services.sign_discharge(
        actor=clinician, discharge=_draft(clinician, episode), password=PASSWORD
    )


def test_a_draft_can_change(clinician: User, episode: EpisodeOfCare) -> None:
    draft = _draft(clinician, episode)
    assert not refused(lambda: Discharge.objects.filter(pk=draft.pk).update(course="edited"))
    assert Discharge.objects.get().course == "edited"


def test_a_signed_discharge_refuses_queryset_updates_and_deletes(signed: Discharge) -> None:
    rows = Discharge.objects.filter(pk=signed.pk)
    assert refused(lambda: rows.update(course="rewritten"))
    assert refused(lambda: rows.update(signed_at=None))
    assert refused(lambda: rows.update(reason=7))
    assert refused(lambda: rows.delete())
    signed.refresh_from_db()
    assert signed.course.startswith("Steady attendance")
    assert signed.signed_at is not None


def test_a_signed_discharge_refuses_raw_sql(signed: Discharge) -> None:
    with connection.cursor() as cursor:
        assert refused(
            lambda: cursor.execute(
                "UPDATE discharge_discharge SET recommendations = %s WHERE id = %s",
                ["raw", signed.pk],
            )
        )
        assert refused(
            lambda: cursor.execute("DELETE FROM discharge_discharge WHERE id = %s", [signed.pk])
        )
    assert Discharge.objects.get(pk=signed.pk).recommendations == "Alumni group weekly."


def test_saving_a_signed_instance_is_refused(signed: Discharge) -> None:
    signed.course = "changed in memory"
    assert refused(signed.save)


def test_referrals_and_follow_ups_go_on_after_signing(
    clinician: User, episode: EpisodeOfCare, signed: Discharge
) -> None:
    referral = services.add_referral(
        actor=clinician, episode=episode, kind="housing", provider="Oak Street sober living"
    )
    services.update_referral(
        actor=clinician, referral=referral, status="made", status_on=TODAY, today=TODAY
    )
    assert Referral.objects.get().status == "made"
    assert FollowUp.objects.filter(episode=episode).update(note="Left a message.") == 5


def test_a_retention_purge_may_remove_a_signed_discharge(signed: Discharge) -> None:
    with allow_audit_purge(connection):
        FollowUp.objects.filter(episode_id=signed.episode_id).delete()
        Discharge.objects.filter(pk=signed.pk).delete()
    assert not Discharge.objects.exists()
