"""The admissions pipeline: board, list, detail, stage rules, contact log, conversion figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.intake import selectors, services
from openiop.intake.models import ContactAttempt, Inquiry, InquiryStageChange
from openiop.patients.models import Patient
from tests.conftest import body, last_event, signed_in
from tests.factories import FacilityFactory
from tests.intake.factories import ContactAttemptFactory, InquiryFactory


def many(facility: Facility, owner: User, n: int) -> None:
    stages = ["new", "contacted", "screened", "assessment_scheduled", "assessed"]
    old = timezone.now() - dt.timedelta(days=10)
    for i in range(n):
        inquiry = InquiryFactory.create(
            facility=facility,
            stage=stages[i % len(stages)],
            owner=owner if i % 2 else None,
            created_at=old,
            next_follow_up=dt.date(2020, 1, 1) if i % 3 == 0 else None,
        )
        ContactAttemptFactory.create(inquiry=inquiry)


# --- board ---------------------------------------------------------------------------------


def test_it_shows_the_board_with_first_name_and_last_initial(
    admissions_client: Client, inquiry: Inquiry
) -> None:
    response = admissions_client.get("/inquiries/")
    assert response.status_code == 200
    html = body(response)
    assert "Jordan V." in html
    assert "Vasquez" not in html
    assert "Move Jordan V. to…" in html
    event = last_event(section="inquiry board")
    assert event.detail == {"results": 1}
    assert event.patient_id is None


@pytest.mark.parametrize("path", ["/inquiries/", "/inquiries/list/"])
def test_the_board_and_list_cost_the_same_queries_for_3_or_30_inquiries(
    path: str,
    admissions: User,
    facility: Facility,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    client = signed_in(admissions)
    many(facility, admissions, 3)
    client.get(path)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    many(facility, admissions, 27)
    with django_assert_max_num_queries(len(few)):
        assert client.get(path).status_code == 200


def test_it_highlights_overdue_inquiries(
    admissions_client: Client, facility: Facility, admissions: User
) -> None:
    long_ago = timezone.now() - dt.timedelta(days=8)
    InquiryFactory.create(facility=facility, first_name="Never", created_at=long_ago)
    contacted = InquiryFactory.create(facility=facility, first_name="Tried", created_at=long_ago)
    ContactAttemptFactory.create(inquiry=contacted)
    InquiryFactory.create(
        facility=facility,
        first_name="Late",
        stage="contacted",
        next_follow_up=timezone.localdate(timezone=facility.zone) - dt.timedelta(days=1),
    )
    InquiryFactory.create(facility=facility, first_name="Fresh")
    columns = selectors.board(admissions, facility)
    overdue = {c.first_name: c.overdue for col in columns for c in col.cards}  # type: ignore[attr-defined]
    assert overdue == {"Never": True, "Tried": False, "Late": True, "Fresh": False}
    assert body(admissions_client.get("/inquiries/")).count('class="inquiry-card overdue"') == 2
    listed = admissions_client.get("/inquiries/list/", {"overdue": "on"})
    names = {i.first_name for i in listed.context["page"].object_list}
    assert names == {"Never", "Late"}


def test_it_moves_a_card_from_the_board(
    admissions_client: Client, admissions: User, inquiry: Inquiry
) -> None:
    response = admissions_client.post(f"/inquiries/{inquiry.pk}/move/", {"stage": "contacted"})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.stage == "contacted"
    change = InquiryStageChange.objects.get(inquiry=inquiry)
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        "new",
        "contacted",
        admissions,
    )
    event = last_event(action="update", section="inquiry")
    assert event.changes["stage"] == ["new", "contacted"]


def test_the_board_cannot_admit_someone_not_registered(
    admissions_client: Client, inquiry: Inquiry
) -> None:
    response = admissions_client.post(
        f"/inquiries/{inquiry.pk}/move/", {"stage": "admitted"}, follow=True
    )
    assert "Register the person as a patient first" in body(response)
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"


def test_roles_that_do_not_see_inquiries_get_403_for_the_board(
    make_user: Callable[..., User], auditor_client: Client
) -> None:
    assert auditor_client.get("/inquiries/").status_code == 403
    for role in (Role.BILLING, Role.CASE_MANAGER, Role.ALUMNI_COORDINATOR):
        assert signed_in(make_user(role)).get("/inquiries/").status_code == 403


def test_a_clinician_sees_only_the_inquiries_they_own(
    clinician: User, clinician_client: Client, facility: Facility, inquiry: Inquiry
) -> None:
    mine = InquiryFactory.create(facility=facility, first_name="Owned", owner=clinician)
    html = body(clinician_client.get("/inquiries/"))
    assert "Owned E." in html and "Jordan" not in html
    assert "Move Owned" not in html  # clinicians do not move cards
    assert clinician_client.get(f"/inquiries/{inquiry.pk}/").status_code == 404
    assert clinician_client.get(f"/inquiries/{mine.pk}/").status_code == 200
    response = clinician_client.post(f"/inquiries/{mine.pk}/move/", {"stage": "contacted"})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.stage == "new"


def test_an_inquiry_of_another_facility_is_not_found(
    admissions_client: Client, outside_inquiry: Inquiry
) -> None:
    for path in ("", "move/", "stage/", "contact/", "assign/", "screening/", "register/"):
        url = f"/inquiries/{outside_inquiry.pk}/{path}"
        response = (
            admissions_client.post(url, {"stage": "contacted"})
            if path
            else admissions_client.get(url)
        )
        assert response.status_code == 404, url
    assert last_event(action="denied").section == "inquiry"


# --- detail --------------------------------------------------------------------------------


def test_the_detail_page_shows_everything_and_is_audited(
    admissions_client: Client, inquiry: Inquiry
) -> None:
    ContactAttemptFactory.create(inquiry=inquiry, note="Left a voicemail at 3 pm")
    html = body(admissions_client.get(f"/inquiries/{inquiry.pk}/"))
    assert "Jordan Vasquez" in html
    assert inquiry.phone in html
    assert "Left a voicemail at 3 pm" in html
    assert "Register as patient" in html
    event = last_event(action="view", section="inquiry")
    assert event.object_id == str(inquiry.pk)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stage": "referred"}, "referred_to"),
        ({"stage": "referred", "referred_to": "   "}, "referred_to"),
        ({"stage": "not_admitted"}, "not_admitted_reason"),
        ({"stage": "somewhere"}, "stage"),
        ({"stage": "new"}, "stage"),
    ],
)
def test_closed_outcomes_need_their_field(
    admissions_client: Client, inquiry: Inquiry, data: dict[str, str], field: str
) -> None:
    response = admissions_client.post(f"/inquiries/{inquiry.pk}/stage/", data)
    assert response.status_code == 400
    assert field in response.context["stage_form"].errors
    assert "Nothing was saved" in body(response)
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"
    assert not InquiryStageChange.objects.exists()


def test_it_closes_and_reopens_with_the_dates_and_the_history(
    admissions_client: Client, admissions: User, inquiry: Inquiry
) -> None:
    admissions_client.post(
        f"/inquiries/{inquiry.pk}/stage/",
        {"stage": "referred", "referred_to": "Harbor Detox Center", "note": "needs detox"},
    )
    inquiry.refresh_from_db()
    assert (inquiry.stage, inquiry.referred_to) == ("referred", "Harbor Detox Center")
    assert inquiry.closed_at is not None
    admissions_client.post(f"/inquiries/{inquiry.pk}/stage/", {"stage": "contacted"})
    inquiry.refresh_from_db()
    assert (inquiry.stage, inquiry.referred_to, inquiry.closed_at) == ("contacted", "", None)
    services.change_stage(
        actor=admissions, inquiry=inquiry, stage="not_admitted", not_admitted_reason="Chose OP"
    )
    inquiry.refresh_from_db()
    assert inquiry.not_admitted_reason == "Chose OP"
    assert list(
        InquiryStageChange.objects.filter(inquiry=inquiry).values_list("to_stage", flat=True)
    ) == ["referred", "contacted", "not_admitted"]


def test_it_logs_contact_attempts_and_a_reached_person_moves_new_to_contacted(
    admissions_client: Client, inquiry: Inquiry, facility: Facility
) -> None:
    url = f"/inquiries/{inquiry.pk}/contact/"
    admissions_client.post(url, {"method": "phone", "outcome": "no_answer"})
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"
    follow_up = timezone.localdate(timezone=facility.zone) + dt.timedelta(days=2)
    admissions_client.post(
        url,
        {
            "method": "phone",
            "outcome": "reached",
            "note": "Wants evening track",
            "next_follow_up": follow_up.isoformat(),
        },
    )
    inquiry.refresh_from_db()
    assert inquiry.stage == "contacted"
    assert inquiry.next_follow_up == follow_up
    assert ContactAttempt.objects.filter(inquiry=inquiry).count() == 2
    assert last_event(section="inquiry contact log").action == "create"


def test_a_contact_attempt_needs_an_outcome_and_a_follow_up_not_in_the_past(
    admissions_client: Client, inquiry: Inquiry, facility: Facility
) -> None:
    url = f"/inquiries/{inquiry.pk}/contact/"
    response = admissions_client.post(url, {"method": "phone"})
    assert response.status_code == 400
    assert "outcome" in response.context["contact_form"].errors
    yesterday = timezone.localdate(timezone=facility.zone) - dt.timedelta(days=1)
    response = admissions_client.post(
        url, {"method": "phone", "outcome": "reached", "next_follow_up": yesterday.isoformat()}
    )
    assert response.status_code == 400
    assert "next_follow_up" in response.context["contact_form"].errors
    assert not ContactAttempt.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"


def test_it_assigns_an_owner_and_a_follow_up(
    admissions_client: Client,
    inquiry: Inquiry,
    clinician: User,
    other_clinician: User,
    facility: Facility,
) -> None:
    tomorrow = timezone.localdate(timezone=facility.zone) + dt.timedelta(days=1)
    url = f"/inquiries/{inquiry.pk}/assign/"
    response = admissions_client.post(url, {"owner": clinician.pk, "next_follow_up": tomorrow})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.owner, inquiry.next_follow_up) == (clinician, tomorrow)
    assert last_event(section="inquiry", action="update").changes["owner_id"] == [
        None,
        clinician.pk,
    ]
    # Someone of another facility, or a date in the past: refused, nothing saved.
    assert admissions_client.post(url, {"owner": other_clinician.pk}).status_code == 400
    yesterday = tomorrow - dt.timedelta(days=2)
    response = admissions_client.post(url, {"owner": clinician.pk, "next_follow_up": yesterday})
    assert response.status_code == 400
    inquiry.refresh_from_db()
    assert (inquiry.owner, inquiry.next_follow_up) == (clinician, tomorrow)


def test_it_schedules_the_assessment_in_the_facility_time_zone(
    admissions_client: Client, inquiry: Inquiry, facility: Facility
) -> None:
    day = timezone.localdate(timezone=facility.zone) + dt.timedelta(days=3)
    response = admissions_client.post(
        f"/inquiries/{inquiry.pk}/schedule/", {"when": f"{day.isoformat()}T10:30"}
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    local = timezone.localtime(inquiry.assessment_scheduled_for, facility.zone)
    assert (local.date(), local.hour, local.minute) == (day, 10, 30)
    assert inquiry.stage == "assessment_scheduled"
    assert (
        admissions_client.post(f"/inquiries/{inquiry.pk}/schedule/", {"when": ""}).status_code
        == 400
    )


def test_staff_log_a_phone_inquiry(
    admissions_client: Client, admissions: User, facility: Facility
) -> None:
    response = admissions_client.post(
        "/inquiries/new/",
        {
            "first_name": "Riley",
            "last_name": "Okonkwo",
            "phone": "951-555-0177",
            "who_needs_help": "loved_one",
            "person_name": "Sam Okonkwo",
            "concerns": ["substances", "mental_health"],
            "best_time_to_call": "any",
            "source": "phone",
            "referral_source": "1",
            "consent_to_contact": "on",
        },
    )
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert (inquiry.source, inquiry.created_by, inquiry.owner) == ("phone", admissions, admissions)
    assert inquiry.referral_source == 1
    assert inquiry.concern_mental_health
    bad = admissions_client.post("/inquiries/new/", {"first_name": "", "source": "phone"})
    assert bad.status_code == 200 and "Nothing was saved" in body(bad)
    assert Inquiry.objects.count() == 1


def test_front_desk_works_the_pipeline_but_does_not_read_screenings(
    front_desk: User, inquiry: Inquiry
) -> None:
    client = signed_in(front_desk)
    html = body(client.get(f"/inquiries/{inquiry.pk}/"))
    assert "Change the stage" in html
    assert "Screen for IOP fit</a>" not in html
    assert client.get(f"/inquiries/{inquiry.pk}/screening/").status_code == 403


# --- advance_for_patient -------------------------------------------------------------------


def test_advance_for_patient_moves_forward_only(
    admissions: User, facility: Facility, patient: Patient
) -> None:
    assert services.advance_for_patient(actor=admissions, patient=patient, stage="assessed") is None
    older = InquiryFactory.create(
        facility=facility, patient=patient, created_at=timezone.now() - dt.timedelta(days=30)
    )
    latest = InquiryFactory.create(facility=facility, patient=patient, stage="screened")
    moved = services.advance_for_patient(actor=admissions, patient=patient, stage="assessed")
    assert moved is not None and moved.pk == latest.pk
    latest.refresh_from_db()
    older.refresh_from_db()
    assert (latest.stage, older.stage) == ("assessed", "new")
    # Never backwards.
    services.advance_for_patient(actor=admissions, patient=patient, stage="assessment_scheduled")
    latest.refresh_from_db()
    assert latest.stage == "assessed"
    services.advance_for_patient(actor=admissions, patient=patient, stage="admitted")
    latest.refresh_from_db()
    assert latest.stage == "admitted" and latest.admitted_at is not None
    assert list(
        InquiryStageChange.objects.filter(inquiry=latest).values_list("from_stage", "to_stage")
    ) == [("screened", "assessed"), ("assessed", "admitted")]
    event = last_event(section="inquiry", action="update")
    assert event.patient_id == patient.pk
    with pytest.raises(ValueError, match="not 'contacted'"):
        services.advance_for_patient(actor=admissions, patient=patient, stage="contacted")


def test_advance_for_patient_leaves_closed_inquiries_alone(
    admissions: User, facility: Facility, patient: Patient
) -> None:
    closed = InquiryFactory.create(facility=facility, patient=patient, stage="referred")
    assert services.advance_for_patient(actor=admissions, patient=patient, stage="admitted") is None
    closed.refresh_from_db()
    assert closed.stage == "referred"


def test_latest_inquiry_for_patient_feeds_the_admission_form(
    facility: Facility, patient: Patient
) -> None:
    InquiryFactory.create(facility=facility, patient=patient, insurance_payer="Example Health Plan")
    found = selectors.latest_inquiry_for_patient(patient)
    assert found is not None and found.insurance_payer == "Example Health Plan"


# --- conversion ----------------------------------------------------------------------------


def _admitted(facility: Facility, created: dt.datetime, days: float) -> Inquiry:
    return InquiryFactory.create(
        facility=facility,
        stage="admitted",
        created_at=created,
        admitted_at=created + dt.timedelta(days=days),
    )


def test_conversion_counts_and_median_days(admissions: User, facility: Facility) -> None:
    today = timezone.localdate(timezone=facility.zone)
    start = today - dt.timedelta(days=89)
    base = timezone.now() - dt.timedelta(days=40)
    empty = selectors.conversion(admissions, facility, start=start, end=today)
    assert (empty.inquiries, empty.admitted, empty.median_days, empty.share) == (0, 0, None, None)
    for days in (2, 10, 4):
        _admitted(facility, base, days)
    InquiryFactory.create(facility=facility, created_at=base)
    InquiryFactory.create(facility=facility, created_at=base, stage="referred", referred_to="X")
    # Outside the period, and another facility: not counted.
    _admitted(facility, timezone.now() - dt.timedelta(days=200), 1)
    _admitted(FacilityFactory.create(organization=facility.organization), base, 1)
    figures = selectors.conversion(admissions, facility, start=start, end=today)
    assert (figures.inquiries, figures.admitted) == (5, 3)
    assert figures.median_days == 4.0
    assert figures.share_percent == "60 %"
    _admitted(facility, base, 7)  # even count: the mean of the middle two (4 and 7)
    assert selectors.conversion(admissions, facility, start=start, end=today).median_days == 5.5


def test_conversion_is_computed_in_two_queries(
    admissions: User, facility: Facility, django_assert_num_queries: Callable[..., Any]
) -> None:
    base = timezone.now() - dt.timedelta(days=5)
    for days in range(1, 12):
        _admitted(facility, base, days / 2)
    today = timezone.localdate(timezone=facility.zone)
    with django_assert_num_queries(2):
        figures = selectors.conversion(
            admissions, facility, start=today - dt.timedelta(days=30), end=today
        )
    assert figures.median_days == 3.0


def test_the_board_shows_the_conversion_for_a_chosen_period(
    admissions_client: Client, facility: Facility
) -> None:
    _admitted(facility, timezone.now() - dt.timedelta(days=3), 2)
    html = body(admissions_client.get("/inquiries/"))
    assert "median days from inquiry to admission" in html
    assert "100 %" in html
    old_start = (timezone.localdate() - dt.timedelta(days=400)).isoformat()
    old_end = (timezone.localdate() - dt.timedelta(days=300)).isoformat()
    response = admissions_client.get("/inquiries/", {"start": old_start, "end": old_end})
    assert response.context["conversion"].inquiries == 0


def test_the_home_page_counts_open_and_overdue_help_requests(
    admissions_client: Client, facility: Facility, make_user: Any
) -> None:
    InquiryFactory.create(facility=facility, created_at=timezone.now() - dt.timedelta(days=8))
    InquiryFactory.create(facility=facility, stage="screened")
    InquiryFactory.create(facility=facility, stage="referred", referred_to="Elsewhere")
    html = body(admissions_client.get("/"))
    assert "Help requests" in html
    assert "<strong>2</strong> in the admissions pipeline, 1 new" in html
    assert "<strong>1</strong> overdue" in html
    assert "Help requests" not in body(signed_in(make_user(Role.BILLING)).get("/"))
