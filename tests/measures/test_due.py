"""The facility's list of instruments due, and the "what is due" strip on the Measures tab,
through the test client: due or not, how late, scope, audit, refusals, constant queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.measures import selectors
from openiop.measures.models import InstrumentSchedule
from openiop.patients.models import Patient
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db
DUE = reverse("measures:due")


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return f.open_episode(patient, clinician)


def rows_of(user: User, facility: Facility, **kwargs: Any) -> list[selectors.DueRow]:
    today = f.today_at(facility)
    return selectors.due_rows(selectors.due_list(user, facility, today, **kwargs), today)


# --- due or not ----------------------------------------------------------------------------------


def test_it_lists_instruments_never_given_as_overdue_since_admission(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    page = body(clinician_client.get(DUE))
    assert "Dana Quintero" in page
    assert "Overdue 30 days" in page
    for name in ("PHQ-9", "GAD-7", "BAM"):
        assert f"Give {name}" in page
    give = reverse("measures:give", args=[episode.patient_id, "phq9"])
    assert f'href="{give}"' in page


def test_an_instrument_given_recently_is_not_due(
    clinician: User, facility: Facility, episode: EpisodeOfCare
) -> None:
    today = f.today_at(facility)
    f.schedule(episode, "phq9", every_days=14)
    f.schedule(episode, "gad7", every_days=14)
    AdministrationFactory.create(
        patient=episode.patient, administered_at=f.given_on(facility, today - dt.timedelta(3))
    )
    AdministrationFactory.create(
        patient=episode.patient,
        instrument="gad7",
        answers=f.gad7(6),
        administered_at=f.given_on(facility, today - dt.timedelta(14)),
    )
    rows = rows_of(clinician, facility)
    assert [(r.schedule.instrument, r.days_overdue) for r in rows] == [("gad7", 0)]
    assert rows[0].is_due and not rows[0].is_overdue


@pytest.mark.parametrize(("given_days_ago", "late"), [(13, None), (14, 0), (15, 1), (20, 6)])
def test_days_overdue_at_the_boundary(
    clinician: User, facility: Facility, episode: EpisodeOfCare, given_days_ago: int, late: int
) -> None:
    today = f.today_at(facility)
    f.schedule(episode, "phq9", every_days=14)
    AdministrationFactory.create(
        patient=episode.patient,
        administered_at=f.given_on(facility, today - dt.timedelta(given_days_ago), hour=23),
    )
    rows = rows_of(clinician, facility)
    assert [r.days_overdue for r in rows] == ([] if late is None else [late])


def test_overdue_only_leaves_out_what_is_due_today(
    clinician_client: Client, facility: Facility, episode: EpisodeOfCare
) -> None:
    today = f.today_at(facility)
    f.schedule(episode, "phq9", every_days=14, starts_on=today)
    f.schedule(episode, "gad7", every_days=14, starts_on=today - dt.timedelta(2))
    f.schedule(episode, "bam", every_days=7, starts_on=today + dt.timedelta(1))
    page = body(clinician_client.get(DUE))
    assert "Give PHQ-9" in page and "Give GAD-7" in page and "Give BAM" not in page
    page = body(clinician_client.get(DUE, {"show": "overdue"}))
    assert "Give PHQ-9" not in page and "Give GAD-7" in page


def test_stopped_schedules_and_discharged_stays_are_not_due(
    clinician: User, facility: Facility, patient: Patient
) -> None:
    today = f.today_at(facility)
    closed = f.open_episode(
        patient, clinician, admitted=today - dt.timedelta(90), discharge_date=today
    )
    f.schedule(closed, "phq9")
    again = PatientFactory.create(facility=facility)
    CareTeamMemberFactory.create(patient=again, user=clinician)
    stopped = f.open_episode(again, clinician)
    f.schedule(stopped, "phq9", stopped_at=f.given_on(facility, today), stop_reason="Not needed")
    f.schedule(stopped, "gad7", stopped_at=f.given_on(facility, today), stop_reason="Not needed")
    f.schedule(stopped, "bam", stopped_at=f.given_on(facility, today), stop_reason="Not needed")
    assert rows_of(clinician, facility) == []


def test_most_overdue_comes_first(
    clinician: User, facility: Facility, episode: EpisodeOfCare
) -> None:
    today = f.today_at(facility)
    f.schedule(episode, "phq9", starts_on=today - dt.timedelta(2))
    f.schedule(episode, "gad7", starts_on=today - dt.timedelta(9))
    assert [r.schedule.instrument for r in rows_of(clinician, facility)] == ["gad7", "phq9"]


# --- scope, audit, refusals ----------------------------------------------------------------------


def test_a_clinician_sees_their_caseload_and_the_director_the_facility(
    clinician: User,
    director: User,
    facility: Facility,
    episode: EpisodeOfCare,
    unassigned_patient: Patient,
    outside_patient: Patient,
    other_clinician: User,
) -> None:
    f.open_episode(unassigned_patient, director)
    CareTeamMemberFactory.create(patient=outside_patient, user=other_clinician)
    f.open_episode(outside_patient, other_clinician)
    signed_in(clinician).get(DUE)
    signed_in(director).get(DUE)
    signed_in(other_clinician).get(DUE)
    assert {r.episode.patient_id for r in rows_of(clinician, facility)} == {episode.patient_id}
    assert {r.episode.patient_id for r in rows_of(director, facility)} == {
        episode.patient_id,
        unassigned_patient.pk,
    }
    page = body(signed_in(other_clinician).get(DUE))
    assert "Dana Quintero" not in page and "Rowan Ibarra" in page


def test_a_break_the_glass_chart_is_not_on_the_list(
    other_clinician: User, other_facility: Facility, patient: Patient, clinician: User
) -> None:
    from tests.factories import BreakGlassGrantFactory

    f.open_episode(patient, clinician)
    BreakGlassGrantFactory.create(user=other_clinician, patient=patient)
    page = body(signed_in(other_clinician).get(DUE))
    assert "Dana Quintero" not in page


def test_each_patient_shown_is_audited_once(
    clinician_client: Client, clinician: User, episode: EpisodeOfCare
) -> None:
    clinician_client.get(DUE)
    events = AuditEvent.objects.filter(section="instruments due", actor=clinician)
    assert [e.patient_id for e in events] == [episode.patient_id]
    assert events[0].action == AuditEvent.Action.VIEW


def test_an_empty_list_says_so_and_is_audited(clinician_client: Client, clinician: User) -> None:
    page = body(clinician_client.get(DUE))
    assert "Nothing is due today" in page
    event = AuditEvent.objects.get(section="instruments due", actor=clinician)
    assert event.patient_id is None and event.detail["results"] == 0


@pytest.mark.parametrize("role", ["billing", "front_desk", "admissions", "alumni_coordinator"])
def test_roles_outside_the_clinical_team_are_refused(
    make_user: Any, role: str, episode: EpisodeOfCare
) -> None:
    response = signed_in(make_user(role)).get(DUE)
    assert response.status_code == 403
    assert "Dana Quintero" not in body(response)
    assert not InstrumentSchedule.objects.exists()


def test_the_auditor_is_refused(auditor_client: Client) -> None:
    assert auditor_client.get(DUE).status_code == 403


def test_it_asks_to_sign_in(client: Client) -> None:
    response = client.get(DUE)
    assert response.status_code == 302 and "login" in response["Location"]


# --- lazily created defaults, and the cost -------------------------------------------------------


def test_opening_the_list_starts_the_defaults_of_stays_without_them(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    clinician_client.get(DUE)
    assert InstrumentSchedule.objects.filter(episode=episode).count() == 3
    clinician_client.get(DUE)
    assert InstrumentSchedule.objects.filter(episode=episode).count() == 3


def _fill(facility: Facility, clinician: User, n: int) -> None:
    today = f.today_at(facility)
    for i in range(n):
        p = PatientFactory.create(facility=facility, last_name=f"Due{i:02d}")
        CareTeamMemberFactory.create(patient=p, user=clinician)
        e = f.open_episode(p, clinician)
        for code, every in (("phq9", 14), ("gad7", 14), ("bam", 7)):
            f.schedule(e, code, every_days=every)
        AdministrationFactory.create(
            patient=p, administered_at=f.given_on(facility, today - dt.timedelta(20))
        )


def test_the_list_costs_the_same_queries_for_2_or_12_patients(
    clinician_client: Client, clinician: User, facility: Facility
) -> None:
    _fill(facility, clinician, 2)
    clinician_client.get(DUE)  # the session's first page does a little more
    with CaptureQueriesContext(connection) as few:
        assert clinician_client.get(DUE).status_code == 200
    _fill(facility, clinician, 10)
    with CaptureQueriesContext(connection) as many:
        page = body(clinician_client.get(DUE))
    assert page.count("Give PHQ-9") == 12
    assert len(many) == len(few)


def test_the_first_opening_starts_defaults_for_2_or_12_stays_in_the_same_queries(
    clinician: User, facility: Facility
) -> None:
    def admit(n: int) -> None:
        for _ in range(n):
            p = PatientFactory.create(facility=facility)
            CareTeamMemberFactory.create(patient=p, user=clinician)
            f.open_episode(p, clinician)

    client = signed_in(clinician)
    client.get(DUE)  # the session's first page does a little more
    admit(2)
    with CaptureQueriesContext(connection) as few:
        client.get(DUE)
    admit(12)
    with CaptureQueriesContext(connection) as many:
        client.get(DUE)
    assert len(many) == len(few)
    assert InstrumentSchedule.objects.count() == 14 * 3


def test_it_pages_a_long_list(
    clinician_client: Client, clinician: User, facility: Facility, monkeypatch: Any
) -> None:
    from openiop.measures import views

    monkeypatch.setattr(views, "DUE_PAGE_SIZE", 4)
    _fill(facility, clinician, 3)  # 3 patients × 3 instruments due: 9 rows
    first = body(clinician_client.get(DUE))
    assert "Page 1 of 3" in first and "page=2" in first
    # The page shows the GAD-7 and BAM of the first two patients: two people audited.
    shown = AuditEvent.objects.filter(section="instruments due").values_list("patient_id")
    names = Patient.objects.filter(pk__in=shown).values_list("last_name", flat=True)
    assert sorted(names) == ["Due00", "Due01"]


# --- the strip on the Measures tab ---------------------------------------------------------------


def test_the_tab_shows_what_is_due_with_a_link_to_give_it(
    clinician_client: Client, facility: Facility, episode: EpisodeOfCare
) -> None:
    today = f.today_at(facility)
    AdministrationFactory.create(
        patient=episode.patient, administered_at=f.given_on(facility, today - dt.timedelta(4))
    )
    page = body(clinician_client.get(reverse("measures:chart", args=[episode.patient_id])))
    assert "Repeated instruments" in page
    assert "Overdue by 30 days" in page  # GAD-7 and BAM never given
    next_phq9 = today + dt.timedelta(days=10)
    assert f"Next due {next_phq9:%m/%d/%Y}" in page
    assert "Give GAD-7 now" in page and "Give PHQ-9 now" not in page
    assert reverse("measures:schedules", args=[episode.patient_id]) in page


def test_the_tab_says_nothing_is_due_without_an_open_stay(
    clinician_client: Client, patient: Patient
) -> None:
    page = body(clinician_client.get(reverse("measures:chart", args=[patient.pk])))
    assert "no open episode of care" in page
    assert not InstrumentSchedule.objects.exists()


# --- the home-page panel -------------------------------------------------------------------------


def test_the_home_panel_counts_what_is_due_and_links_to_the_list(
    clinician: User, facility: Facility, episode: EpisodeOfCare
) -> None:
    from openiop.measures import home

    today = f.today_at(facility)
    AdministrationFactory.create(
        patient=episode.patient, administered_at=f.given_on(facility, today - dt.timedelta(14))
    )
    panel = home.instruments_due(clinician, facility)
    assert panel is not None
    assert (panel.context["due"], panel.context["overdue"], panel.context["people"]) == (3, 2, 1)
    page = body(signed_in(clinician).get(reverse("home")))
    assert "Instruments due" in page and f'href="{DUE}"' in page
    assert "3</strong> repeated instruments due today or overdue" in page


def test_the_home_panel_is_for_the_clinical_team(make_user: Any, facility: Facility) -> None:
    from openiop.measures import home

    for role in ("billing", "front_desk", "admissions", "auditor"):
        assert home.instruments_due(make_user(role), facility) is None


def test_the_home_panel_costs_the_same_for_2_or_12_patients(
    clinician: User, facility: Facility
) -> None:
    from openiop.measures import home

    _fill(facility, clinician, 2)
    with CaptureQueriesContext(connection) as few:
        home.instruments_due(clinician, facility)
    _fill(facility, clinician, 10)
    with CaptureQueriesContext(connection) as many:
        panel = home.instruments_due(clinician, facility)
    assert panel is not None and panel.context["people"] == 12
    assert len(many) == len(few)
