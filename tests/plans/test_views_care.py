"""Plan reviews, phase changes and the relapse-prevention plan with its pocket card,
through the test client."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.plans import rules
from openiop.plans.models import (
    Objective,
    ObjectiveProgress,
    PlanReview,
    PlanVersion,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from tests.admissions.factories import episode, program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.factories import PatientFactory, SupportContactFactory
from tests.plans.factories import active_plan, draft_plan


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, plan_review_days=14)


@pytest.fixture
def stay(patient: Patient, program: Program, clinician: User) -> EpisodeOfCare:
    return episode(patient, program, clinician)


def _today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def _url(patient: Patient, page: str = "") -> str:
    return f"/plans/patient/{patient.pk}/{page}"


def _pages(pdf: bytes) -> int:
    """Pages of a PDF, looking inside compressed object streams too."""
    chunks = [pdf]
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            continue
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", c)) for c in chunks)


# --- reviews -----------------------------------------------------------------------------------


def _review_post(version: PlanVersion, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reviewed_on": _today(version.plan.patient.facility).isoformat(),
        "reason": "scheduled",
        "summary": "Attends every group; one lapse in week 3, talked it through.",
        "decision": "continue",
    }
    for o in Objective.objects.filter(goal__problem__version=version):
        data[f"status-{o.pk}"] = "in_progress"
        data[f"note-{o.pk}"] = "Going well."
    data.update(overrides)
    return data


def test_the_review_form_lists_each_objective_with_its_thread(
    clinician_client: Client,
    clinician: User,
    stay: EpisodeOfCare,
    patient: Patient,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    version = active_plan(clinician, stay, objectives=3)
    with django_assert_max_num_queries(25):
        response = clinician_client.get(_url(patient, "review/"))
    assert response.status_code == 200
    html = body(response)
    assert html.count("Objective 1: attend 3 groups a week.") == 1
    assert "Objective 3: status now" in html and "no service linked yet" in html
    assert f'value="{_today(patient.facility).isoformat()}"' in html
    assert "Step down to a less intensive level" in html
    assert version.plan.review_due_on is not None
    assert f"{version.plan.review_due_on:%m/%d/%Y}" in html


def test_a_review_records_progress_and_moves_the_due_date(
    clinician_client: Client, clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    version = active_plan(clinician, stay, objectives=2)
    first, second = Objective.objects.filter(goal__problem__version=version).order_by("order")
    data = _review_post(version, **{f"status-{first.pk}": "met", f"note-{first.pk}": "Done!"})
    response = clinician_client.post(_url(patient, "review/"), data)
    review = PlanReview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url(patient, f"review/{review.pk}/")
    today = _today(patient.facility)
    plan = TreatmentPlan.objects.get()
    assert plan.last_reviewed_on == today
    assert plan.review_due_on == today + dt.timedelta(days=14)  # the program's cycle
    progress = {p.objective_id: p for p in ObjectiveProgress.objects.filter(review=review)}
    assert progress[first.pk].status == "met" and progress[first.pk].note == "Done!"
    assert progress[second.pk].status == "in_progress"
    first.refresh_from_db()
    assert first.status == "met"
    page = body(clinician_client.get(response["Location"]))
    assert "Continue the plan as it is" in page and "Done!" in page
    assert f"{plan.review_due_on:%m/%d/%Y}" in page


def test_after_revise_the_next_step_is_the_new_version_and_after_step_down_the_transfer(
    clinician_client: Client, clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    version = active_plan(clinician, stay)
    clinician_client.post(_url(patient, "review/"), _review_post(version, decision="revise"))
    review = PlanReview.objects.get()
    page = body(clinician_client.get(_url(patient, f"review/{review.pk}/")))
    assert "Start the new version" in page and _url(patient, "new-version/") in page
    clinician_client.post(_url(patient, "review/"), _review_post(version, decision="step_down"))
    later = PlanReview.objects.exclude(pk=review.pk).get()
    page = body(clinician_client.get(_url(patient, f"review/{later.pk}/")))
    assert "Record the transfer on the Admission tab when it happens" in page
    # The earlier review no longer says what to do next: the later one does.
    assert "Start the new version" not in body(
        clinician_client.get(_url(patient, f"review/{review.pk}/"))
    )
    assert "Start the new version" not in page


def test_a_review_needs_an_active_plan(
    clinician_client: Client, clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    draft_plan(clinician, stay)
    response = clinician_client.get(_url(patient, "review/"))
    assert response.status_code == 302 and response["Location"] == _url(patient)
    response = clinician_client.post(_url(patient, "review/"), {"summary": "x" * 20})
    assert response.status_code == 302
    assert not PlanReview.objects.exists()


def test_a_review_in_the_future_or_without_summary_is_refused(
    clinician_client: Client, clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    version = active_plan(clinician, stay)
    due = TreatmentPlan.objects.get().review_due_on
    tomorrow = _today(patient.facility) + dt.timedelta(days=1)
    response = clinician_client.post(
        _url(patient, "review/"), _review_post(version, reviewed_on=tomorrow.isoformat())
    )
    assert response.status_code == 200
    assert "A review cannot be dated in the future." in body(response)
    assert "Nothing was saved." in body(response)
    response = clinician_client.post(_url(patient, "review/"), _review_post(version, summary=""))
    assert "Summarize the progress" in body(response)
    assert not PlanReview.objects.exists()
    assert TreatmentPlan.objects.get().review_due_on == due


def test_review_pages_refuse_outsiders_and_other_roles(
    clinician: User,
    other_clinician: User,
    billing: User,
    front_desk: User,
    stay: EpisodeOfCare,
    patient: Patient,
) -> None:
    version = active_plan(clinician, stay)
    signed_in(clinician).post(_url(patient, "review/"), _review_post(version))
    review = PlanReview.objects.get()
    detail = _url(patient, f"review/{review.pk}/")
    assert signed_in(other_clinician).get(_url(patient, "review/")).status_code == 404
    assert signed_in(other_clinician).get(detail).status_code == 404
    assert signed_in(front_desk).get(detail).status_code == 403
    # Billing reads reviews (utilization review) but does not record them.
    assert signed_in(billing).get(detail).status_code == 200
    assert signed_in(billing).post(_url(patient, "review/"), _review_post(version)).status_code == (
        403
    )
    # A review of another patient is not found through this chart.
    other = PatientFactory.create(facility=patient.facility)
    assert signed_in(clinician).get(_url(other, f"review/{review.pk}/")).status_code == 404


# --- phase -------------------------------------------------------------------------------------


def test_phase_moves_forward_and_back_with_history_and_makes_the_review_due(
    clinician_client: Client,
    clinician: User,
    stay: EpisodeOfCare,
    patient: Patient,
    program: Program,
) -> None:
    active_plan(clinician, stay)
    phases = list(program.phases.order_by("order"))
    today = _today(patient.facility)
    page = body(clinician_client.get(_url(patient, "phase/")))
    assert "Engagement</strong> — now" in page and "No change yet" in page
    response = clinician_client.post(
        _url(patient, "phase/"),
        {"phase": phases[1].pk, "changed_on": today.isoformat(), "reason": "Two weeks sober."},
    )
    assert response.status_code == 302
    stay.refresh_from_db()
    assert stay.phase == phases[1]
    assert TreatmentPlan.objects.get().review_due_on == today
    page = body(clinician_client.get(_url(patient, "phase/")))
    assert "moving back a phase — say what happened" in page
    assert "Moving back a phase — say what happened" in page
    response = clinician_client.post(
        _url(patient, "phase/"),
        {"phase": phases[0].pk, "changed_on": today.isoformat(), "reason": "Lapse at a party."},
    )
    assert response.status_code == 302
    changes = list(PhaseChange.objects.order_by("id"))
    assert [(c.from_phase, c.to_phase) for c in changes] == [
        (phases[0], phases[1]),
        (phases[1], phases[0]),
    ]
    page = body(clinician_client.get(_url(patient, "phase/")))
    assert "Two weeks sober." in page and "Lapse at a party." in page
    assert "moved back" in page and clinician.display_name in page
    assert f"{today:%m/%d/%Y}" in page


def test_a_phase_change_without_a_reason_is_refused(
    clinician_client: Client, stay: EpisodeOfCare, patient: Patient, program: Program
) -> None:
    target = program.phases.get(order=2)
    response = clinician_client.post(
        _url(patient, "phase/"),
        {"phase": target.pk, "changed_on": _today(patient.facility).isoformat(), "reason": ""},
    )
    assert response.status_code == 200
    assert "Write why the phase changes" in body(response)
    response = clinician_client.post(
        _url(patient, "phase/"),
        {"phase": target.pk, "changed_on": _today(patient.facility).isoformat(), "reason": "ok"},
    )
    assert "Write why the phase changes" in body(response)
    assert not PhaseChange.objects.exists()
    stay.refresh_from_db()
    assert stay.phase.order == 1  # type: ignore[union-attr]


def test_phase_page_refuses_outsiders_and_front_desk_and_billing_only_reads(
    other_clinician: User,
    front_desk: User,
    billing: User,
    stay: EpisodeOfCare,
    patient: Patient,
    program: Program,
) -> None:
    url = _url(patient, "phase/")
    data = {"phase": program.phases.get(order=2).pk, "changed_on": "", "reason": "Moving on."}
    assert signed_in(other_clinician).get(url).status_code == 404
    assert signed_in(other_clinician).post(url, data).status_code == 404
    assert signed_in(front_desk).get(url).status_code == 403
    reader = signed_in(billing)
    page = reader.get(url)
    assert page.status_code == 200 and "Change the phase" not in body(page)
    assert reader.post(url, data).status_code == 403
    assert not PhaseChange.objects.exists()


# --- relapse-prevention plan -------------------------------------------------------------------


def _relapse_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "triggers_people": "Old drinking friends",
        "triggers_places": "The bar on 5th",
        "triggers_feelings": "Lonely, angry",
        "triggers_situations": "Payday",
        "warning_signs": "Skipping meetings",
        "coping_strategies": "Call my sponsor\nGo for a run",
        "reasons": "My kids",
        "after_lapse": "Tell my counselor the same day",
        "crisis_resources": rules.CRISIS_RESOURCES,
    }
    data.update(overrides)
    return data


def test_the_relapse_form_saves_with_the_patients_own_contacts(
    clinician_client: Client, stay: EpisodeOfCare, patient: Patient
) -> None:
    sister = SupportContactFactory.create(patient=patient, name="Rosa Quintero")
    SupportContactFactory.create(patient=patient, name="Old Friend")
    page = body(clinician_client.get(_url(patient, "relapse-prevention/")))
    for heading in ("My triggers", "My warning signs", "What I will do instead", "If I slip"):
        assert heading in page
    assert "People I can call" in page and "Rosa Quintero (sister) — 951-555-0199" in page
    assert "988" in page
    response = clinician_client.post(
        _url(patient, "relapse-prevention/"), {**_relapse_data(), "support_contacts": [sister.pk]}
    )
    assert response.status_code == 302
    plan = RelapsePreventionPlan.objects.get()
    assert plan.episode == stay and plan.triggers_places == "The bar on 5th"
    assert list(plan.support_contacts.all()) == [sister]
    assert rules.CRISIS_LINE in plan.crisis_resources
    page = body(clinician_client.get(_url(patient, "relapse-prevention/")))
    assert "Print the pocket card" in page


def test_another_patients_contact_and_a_card_without_988_are_refused(
    clinician_client: Client, stay: EpisodeOfCare, patient: Patient, unassigned_patient: Patient
) -> None:
    stranger = SupportContactFactory.create(patient=unassigned_patient, name="Not Theirs")
    response = clinician_client.post(
        _url(patient, "relapse-prevention/"),
        {**_relapse_data(), "support_contacts": [stranger.pk]},
    )
    assert response.status_code == 200
    assert "Choose people from this patient&#x27;s support system." in body(response)
    response = clinician_client.post(
        _url(patient, "relapse-prevention/"),
        _relapse_data(crisis_resources="Call my mom"),
    )
    assert "Keep the 988 Suicide &amp; Crisis Lifeline on the card." in body(response)
    assert not RelapsePreventionPlan.objects.exists()
    # An emptied crisis box gets the standard resources back, 988 included.
    clinician_client.post(_url(patient, "relapse-prevention/"), _relapse_data(crisis_resources=""))
    assert RelapsePreventionPlan.objects.get().crisis_resources == rules.CRISIS_RESOURCES


def test_the_pocket_card_is_one_page_even_with_very_long_text(
    clinician_client: Client, clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    contacts = [
        SupportContactFactory.create(patient=patient, name=f"Helper {n}", phone=f"555-010{n}")
        for n in range(8)
    ]
    long = "I will call someone and go for a long walk before anything else. " * 60
    lines = "\n".join(f"Line {n} of many" for n in range(80))
    clinician_client.post(
        _url(patient, "relapse-prevention/"),
        {
            **_relapse_data(coping_strategies=long, warning_signs=lines, after_lapse=long),
            "triggers_people": long,
            "support_contacts": [c.pk for c in contacts],
        },
    )
    plan = RelapsePreventionPlan.objects.get()
    response = clinician_client.get(_url(patient, "relapse-prevention/card.pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="relapse-prevention-card.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    assert _pages(response.content) == 1
    event = last_event(action=AuditEvent.Action.PRINT, section="relapse-prevention plan")
    assert event.patient_id == patient.pk and event.actor == clinician
    assert event.object_id == str(plan.pk)


def test_the_card_shows_first_name_988_and_contacts_but_no_mrn(
    clinician: User, stay: EpisodeOfCare, patient: Patient
) -> None:
    from openiop.plans import pocket_card

    sister = SupportContactFactory.create(patient=patient, name="Rosa Q", phone="951-555-0101")
    plan = RelapsePreventionPlan.objects.create(
        episode=stay, patient=patient, triggers_places="x" * 2000, warning_signs="Isolating"
    )
    plan.support_contacts.set([sister])
    html = pocket_card.card_html(pocket_card.card_context(plan, patient, [sister]))
    assert "Dana" in html and "Quintero" not in html and patient.mrn not in html
    assert "988" in html and "951-555-0101" in html and "Isolating" in html
    assert pocket_card.SEE_FULL_PLAN in html and "x" * 200 not in html


def test_the_card_without_a_plan_goes_to_the_form_and_outsiders_are_refused(
    clinician_client: Client,
    other_clinician: User,
    front_desk: User,
    stay: EpisodeOfCare,
    patient: Patient,
) -> None:
    response = clinician_client.get(_url(patient, "relapse-prevention/card.pdf"))
    assert response.status_code == 302
    assert response["Location"] == _url(patient, "relapse-prevention/")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PRINT).exists()
    for url in (_url(patient, "relapse-prevention/"), _url(patient, "relapse-prevention/card.pdf")):
        assert signed_in(other_clinician).get(url).status_code == 404
        assert signed_in(front_desk).get(url).status_code == 403


def test_phase_and_relapse_pages_cost_a_constant_number_of_queries(
    clinician_client: Client,
    clinician: User,
    stay: EpisodeOfCare,
    patient: Patient,
    program: Program,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    from openiop.plans import services

    active_plan(clinician, stay)
    phases = list(program.phases.order_by("order"))
    for n in range(6):
        services.change_phase(
            actor=clinician,
            episode=stay,
            phase=phases[(n + 1) % 2],
            changed_on=_today(patient.facility),
            reason=f"Change number {n}.",
        )
    contacts = [SupportContactFactory.create(patient=patient) for _ in range(6)]
    services.save_relapse_prevention(
        actor=clinician, episode=stay, data=_relapse_data(), contacts=contacts
    )
    with django_assert_max_num_queries(20):
        assert clinician_client.get(_url(patient, "phase/")).status_code == 200
    with django_assert_max_num_queries(20):
        assert clinician_client.get(_url(patient, "relapse-prevention/")).status_code == 200
