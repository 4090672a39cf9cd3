"""New versions, signatures, the version list, comparison and the printable plan, through
the pages a counselor uses."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.patients.models import Patient
from openiop.plans import services
from openiop.plans.models import Objective, PlanVersion, Signature
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.factories import PASSWORD, CareTeamMemberFactory
from tests.plans.factories import active_plan, add_problem, draft_plan


def tiny_png() -> str:
    """A valid 1×1 PNG as a data URL (what the pad's canvas.toDataURL sends)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"\x00\x00\x00\x00\x00"  # one row: filter byte + one RGBA pixel
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    program = program_with_phases(patient.facility)
    return make_episode(patient, program, clinician)


def url(name: str, patient: Patient, version: PlanVersion | None = None, **query: Any) -> str:
    kwargs = {"pk": patient.pk}
    if version is not None:
        kwargs["vpk"] = version.pk
    address = reverse(f"plans:{name}", kwargs=kwargs)
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


def sign_patient(client: Any, patient: Patient, version: PlanVersion, **data: Any) -> Any:
    values = {"role": "patient", "typed_name": "Dana Quintero", "attested": "on", "image": ""}
    values.update(data)
    return client.post(url("sign", patient, version), values)


def sign_staff(client: Any, patient: Patient, version: PlanVersion, role: str, pw: str) -> Any:
    return client.post(url("sign", patient, version), {"role": role, "password": pw})


def status_of(version: PlanVersion) -> str:
    version.refresh_from_db()
    return version.status


# --- signing -----------------------------------------------------------------------------------


def test_it_signs_as_patient_and_clinician_and_the_plan_becomes_active(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    client = signed_in(clinician)

    page = client.get(url("sign", patient, version))
    assert page.status_code == 200
    text = body(page)
    assert "Patient signature" in text and "Clinician signature" in text
    assert "Dana Quintero" in text
    assert "I took part in writing this plan and I agree with it." in text
    assert "Your password" in text
    assert "Once anyone signs, this version is locked." in text
    assert 'name="image"' in text and "plans/signature-pad.js" in text

    response = sign_patient(client, patient, version)
    assert response.status_code == 302
    assert status_of(version) == PlanVersion.Status.SIGNING
    signature = version.signatures.get(role="patient")
    assert signature.method == Signature.Method.TYPED and signature.attested
    assert signature.signed_by == clinician

    response = sign_staff(client, patient, version, "clinician", PASSWORD)
    assert response.status_code == 302
    assert status_of(version) == PlanVersion.Status.ACTIVE
    page = client.get(response["Location"])
    text = body(page)
    assert "The plan is active." in text
    assert "Clinician" in text and "Password re-entered" in text
    assert "Save the patient's signature" not in text  # nothing left to sign


def test_signing_a_new_version_supersedes_the_previous_active_one(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    first = active_plan(clinician, episode)
    client = signed_in(clinician)
    response = client.post(url("new_version", patient), {"reason": "Review: add family work."})
    second = PlanVersion.objects.get(plan=first.plan, number=2)
    assert response.status_code == 302
    assert response["Location"] == url("version", patient, second)
    assert second.status == PlanVersion.Status.DRAFT
    assert status_of(first) == PlanVersion.Status.ACTIVE  # in force until the new one is signed

    sign_patient(client, patient, second)
    sign_staff(client, patient, second, "clinician", PASSWORD)

    assert status_of(second) == PlanVersion.Status.ACTIVE
    assert status_of(first) == PlanVersion.Status.SUPERSEDED
    assert first.signatures.count() == 2  # the signed version stays as it was


def test_the_patient_signs_on_the_pad(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    client = signed_in(clinician)
    image = tiny_png()
    response = sign_patient(client, patient, version, typed_name="", image=image)
    assert response.status_code == 302
    signature = version.signatures.get(role="patient")
    assert signature.method == Signature.Method.PAD
    assert signature.image == image
    event = last_event(action=AuditEvent.Action.SIGN, patient=patient)
    assert event.actor == clinician


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"typed_name": "Dana Smith"}, "Type the patient&#x27;s first and last name"),
        ({"attested": ""}, "took part in and agree with this plan"),
        ({"typed_name": ""}, "The patient signs on the pad or types their name"),
        ({"typed_name": "", "image": "data:image/png;base64,<script>"}, "not a signature"),
    ],
)
def test_a_refused_patient_signature_saves_nothing(
    patient: Patient, clinician: User, episode: EpisodeOfCare, data: dict[str, str], message: str
) -> None:
    version = draft_plan(clinician, episode)
    response = sign_patient(signed_in(clinician), patient, version, **data)
    assert response.status_code == 200
    text = body(response)
    assert message in text
    assert "Nothing was saved." in text
    assert not version.signatures.exists()
    assert status_of(version) == PlanVersion.Status.DRAFT


def test_a_wrong_password_is_refused_and_nothing_saved(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    response = sign_staff(signed_in(clinician), patient, version, "clinician", "not-mine")
    assert response.status_code == 200
    assert "That is not your password." in body(response)
    assert not version.signatures.exists()
    assert status_of(version) == PlanVersion.Status.DRAFT


def test_front_desk_is_refused_and_an_outsider_sees_nothing(
    patient: Patient,
    outside_patient: Patient,
    clinician: User,
    front_desk: User,
    episode: EpisodeOfCare,
) -> None:
    version = draft_plan(clinician, episode)
    desk = signed_in(front_desk)
    assert desk.get(url("sign", patient, version)).status_code == 403
    assert sign_patient(desk, patient, version).status_code == 403
    assert desk.get(url("versions", patient)).status_code == 403
    assert desk.get(url("compare", patient)).status_code == 403
    assert desk.get(url("print", patient, version)).status_code == 403
    assert desk.post(url("new_version", patient), {"reason": "Anything."}).status_code == 403

    client = signed_in(clinician)
    assert client.get(url("sign", outside_patient, version)).status_code == 404
    assert client.get(url("versions", outside_patient)).status_code == 404
    assert client.get(url("print", outside_patient, version)).status_code == 404
    assert sign_patient(client, outside_patient, version).status_code == 404
    assert not version.signatures.exists()


def test_a_version_of_another_patient_is_not_found(
    patient: Patient,
    unassigned_patient: Patient,
    clinician: User,
    director: User,
    episode: EpisodeOfCare,
) -> None:
    version = draft_plan(clinician, episode)
    client = signed_in(director)  # sees both patients of the facility
    assert client.get(url("sign", unassigned_patient, version)).status_code == 404
    assert client.get(url("print", unassigned_patient, version)).status_code == 404
    assert (
        client.get(url("compare", unassigned_patient, a=version.pk, b=version.pk)).status_code
        == 404
    )


def test_a_clinician_who_needs_cosigning_waits_for_the_supervisor(
    patient: Patient, facility: Any, make_user: Any, clinician: User, episode: EpisodeOfCare
) -> None:
    clinician.needs_cosign = True
    clinician.save(update_fields=["needs_cosign"])
    version = draft_plan(clinician, episode)
    client = signed_in(clinician)
    page = body(client.get(url("sign", patient, version)))
    assert "after you sign, the plan waits for a clinical supervisor" in page
    sign_patient(client, patient, version)
    sign_staff(client, patient, version, "clinician", PASSWORD)
    assert status_of(version) == PlanVersion.Status.SIGNING

    page = body(client.get(url("sign", patient, version)))
    assert "Clinical supervisor" in page and "stays waiting" in page
    assert "Supervisor co-signature" not in page  # a clinician cannot co-sign
    refused = sign_staff(client, patient, version, "supervisor", PASSWORD)
    assert refused.status_code == 403
    assert status_of(version) == PlanVersion.Status.SIGNING

    supervisor = make_user("clinical_supervisor")
    boss = signed_in(supervisor)
    page = body(boss.get(url("sign", patient, version)))
    assert "Supervisor co-signature" in page
    response = sign_staff(boss, patient, version, "supervisor", PASSWORD)
    assert response.status_code == 302
    assert status_of(version) == PlanVersion.Status.ACTIVE
    assert "The plan is active." in body(boss.get(response["Location"]))


def test_a_case_manager_collects_the_patient_signature_but_cannot_sign_as_clinician(
    patient: Patient, make_user: Any, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    case_manager = make_user("case_manager")
    CareTeamMemberFactory.create(patient=patient, user=case_manager, role="case_manager")
    client = signed_in(case_manager)
    page = body(client.get(url("sign", patient, version)))
    assert "Patient signature" in page
    assert "Sign as the clinician" not in page
    assert "Your role cannot give: Clinician" in page

    response = sign_staff(client, patient, version, "clinician", PASSWORD)
    assert response.status_code == 403
    assert "does not sign plans as the clinician" in body(response)
    assert not version.signatures.exists()

    assert sign_patient(client, patient, version).status_code == 302
    assert version.signatures.get().signed_by == case_manager


def test_a_signed_version_cannot_be_edited_or_signed_again(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = active_plan(clinician, episode)
    client = signed_in(clinician)
    hours = version.hours_per_day
    response = client.post(
        url("intensity", patient, version),
        {"hours_per_day": "5", "days_per_week": "5", "meetings_per_week": "3"},
    )
    assert response.status_code == 302
    assert services.LOCKED_MESSAGE in [str(m) for m in get_messages(response.wsgi_request)]
    version.refresh_from_db()
    assert version.hours_per_day == hours
    problem = version.problems.get()
    response = client.post(
        reverse(
            "plans:item_edit",
            kwargs={"pk": patient.pk, "vpk": version.pk, "kind": "problem", "item_pk": problem.pk},
        ),
        {"statement": "Changed after signing.", "category": "other"},
    )
    assert services.LOCKED_MESSAGE in [str(m) for m in get_messages(response.wsgi_request)]
    problem.refresh_from_db()
    assert problem.statement == "Drinking daily despite harm."

    # An active version offers no signature form, and a forced one is refused.
    page = body(client.get(url("sign", patient, version)))
    assert "The plan is active." in page and "Sign as the clinician" not in page
    response = sign_patient(client, patient, version)
    assert response.status_code == 200
    assert "only a version waiting for signatures can be signed" in body(response)
    assert version.signatures.count() == 2


def test_signing_waits_until_the_plan_is_complete(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    client = signed_in(clinician)
    page = body(client.get(url("sign", patient, version)))
    assert "This plan cannot be signed yet." in page
    assert "Add at least one problem" in page
    assert "Save the patient&#x27;s signature" not in page
    response = sign_patient(client, patient, version)
    assert "Finish the plan before anyone signs it." in body(response)
    assert not version.signatures.exists()


# --- new versions ------------------------------------------------------------------------------


def test_a_new_version_needs_a_reason(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = active_plan(clinician, episode)
    client = signed_in(clinician)
    page = body(client.get(url("new_version", patient)))
    assert "The signed versions stay exactly as they are" in page
    assert "all signatures again" in page
    assert 'for="id_reason"' in page

    response = client.post(url("new_version", patient), {"reason": ""})
    assert response.status_code == 200
    assert "Write what changes in this version and why." in body(response)
    response = client.post(url("new_version", patient), {"reason": "abc"})
    assert "Write what changes in this version and why." in body(response)
    assert version.plan.versions.count() == 1


def test_a_second_draft_is_refused(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    draft = draft_plan(clinician, episode)
    client = signed_in(clinician)
    assert "is still a draft" in body(client.get(url("new_version", patient)))
    response = client.post(url("new_version", patient), {"reason": "Another one please."})
    assert "is still a draft" in body(response)
    assert draft.plan.versions.count() == 1


# --- versions and comparison -------------------------------------------------------------------


def test_the_version_list_shows_every_version_newest_first(
    patient: Patient, clinician: User, billing: User, episode: EpisodeOfCare
) -> None:
    first = active_plan(clinician, episode)
    services.new_version(
        actor=clinician, plan=first.plan, reason="Phase changed to early recovery."
    )
    client = signed_in(billing)  # readers see the list
    response = client.get(url("versions", patient))
    assert response.status_code == 200
    text = body(response)
    assert text.index("Version 2</a>") < text.index("Version 1</a>")
    assert "Phase changed to early recovery." in text
    assert "Patient: Dana Quintero" in text
    assert reverse("plans:compare", kwargs={"pk": patient.pk}) in text
    assert "Start a new version" not in text  # billing does not write


def test_compare_shows_changed_added_and_removed_rows(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    first = active_plan(clinician, episode, objectives=2)
    second = services.new_version(actor=clinician, plan=first.plan, reason="Monthly review.")
    objectives = list(Objective.objects.filter(goal__problem__version=second).order_by("order"))
    services.save_objective(
        actor=clinician,
        goal=objectives[0].goal,
        objective=objectives[0],
        data={"text": "Attend 4 groups a week.", "target_date": "2026-04-01"},
    )
    services.remove_item(actor=clinician, version=second, item=objectives[1])
    add_problem(clinician, second, statement="Low mood most days.")

    client = signed_in(clinician)
    response = client.get(url("compare", patient))  # default: the two newest
    assert response.status_code == 200
    text = body(response)
    assert "Version 1 → version 2" in text
    assert "Changed</span>" in text and "Added</span>" in text and "Removed</span>" in text
    assert "Attend 4 groups a week." in text and "Low mood most days." in text
    assert "Objective 2: attend 3 groups a week." in text  # the removed one, on the left
    assert ">Same<" in text

    only = body(client.get(url("compare", patient, a=first.pk, b=second.pk, changes_only=1)))
    assert "Changed</span>" in only and ">Same<" not in only
    # Asked the other way round, the older version still sits on the left.
    swapped = body(client.get(url("compare", patient, a=second.pk, b=first.pk)))
    assert "Version 1 → version 2" in swapped


def test_compare_refuses_a_version_of_another_plan(
    patient: Patient,
    unassigned_patient: Patient,
    clinician: User,
    director: User,
    episode: EpisodeOfCare,
) -> None:
    mine = active_plan(clinician, episode)
    other_episode = make_episode(unassigned_patient, episode.program, director)
    theirs = draft_plan(director, other_episode)
    client = signed_in(director)
    assert client.get(url("compare", patient, a=mine.pk, b=theirs.pk)).status_code == 404
    assert client.get(url("compare", patient, a=theirs.pk, b=mine.pk)).status_code == 404
    assert client.get(url("compare", patient, a="x", b=mine.pk)).status_code == 404


def _compare_queries(client: Any, patient: Patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("compare", patient))
    assert response.status_code == 200
    return len(queries)


def test_compare_costs_the_same_queries_whatever_the_size(
    patient: Patient,
    unassigned_patient: Patient,
    clinician: User,
    director: User,
    episode: EpisodeOfCare,
    django_assert_max_num_queries: Any,
) -> None:
    small = active_plan(director, episode, objectives=2)
    services.new_version(actor=director, plan=small.plan, reason="Monthly review.")
    big_episode = make_episode(unassigned_patient, episode.program, director)
    big = active_plan(director, big_episode, objectives=40)
    services.new_version(actor=director, plan=big.plan, reason="Monthly review.")

    client = signed_in(director)
    _compare_queries(client, patient)  # the session's first request reads more
    few = _compare_queries(client, patient)
    many = _compare_queries(client, unassigned_patient)
    assert few == many
    with django_assert_max_num_queries(40):
        client.get(url("compare", unassigned_patient))


def test_the_version_list_costs_constant_queries(
    patient: Patient, clinician: User, episode: EpisodeOfCare, django_assert_max_num_queries: Any
) -> None:
    first = active_plan(clinician, episode)
    for n in range(3):
        services.new_version(actor=clinician, plan=first.plan, reason=f"Revision {n} of plan.")
        latest = first.plan.versions.order_by("-number").first()
        assert latest is not None
        services.sign(
            actor=clinician,
            version=latest,
            role="patient",
            typed_name="Dana Quintero",
            attested=True,
        )
        services.sign(actor=clinician, version=latest, role="clinician", password=PASSWORD)
    client = signed_in(clinician)
    with django_assert_max_num_queries(25):
        assert client.get(url("versions", patient)).status_code == 200


# --- printing ----------------------------------------------------------------------------------


def test_it_prints_a_version_and_records_the_print(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = active_plan(clinician, episode)
    client = signed_in(clinician)
    response = client.get(url("print", patient, version))
    assert response.status_code == 200
    text = body(response)
    assert "Dana Quintero" in text and patient.mrn in text
    assert patient.date_of_birth.strftime("%m/%d/%Y") in text
    assert episode.program.name in text
    assert "Version 1 — Active" in text
    assert "Drinking daily despite harm." in text and "I want to stop drinking." in text
    assert "Typed name with attestation" in text and "Password re-entered" in text
    assert PART2_NOTICE in text
    event = last_event(action=AuditEvent.Action.PRINT, patient=patient)
    assert event.actor == clinician
    assert event.detail["version"] == 1 and event.detail["format"] == "html"


def test_it_prints_a_pdf_without_the_name_in_the_file_name(
    patient: Patient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    services.sign(actor=clinician, version=version, role="patient", image=tiny_png(), attested=True)
    services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)
    response = signed_in(clinician).get(url("print", patient, version, format="pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    disposition = response["Content-Disposition"]
    assert 'filename="treatment-plan-v1.pdf"' in disposition
    assert "Quintero" not in disposition and "Dana" not in disposition
    event = last_event(action=AuditEvent.Action.EXPORT, patient=patient)
    assert event.detail["format"] == "pdf"


def test_the_signing_page_costs_the_same_queries_whatever_the_size(
    patient: Patient,
    unassigned_patient: Patient,
    director: User,
    episode: EpisodeOfCare,
) -> None:
    small = draft_plan(director, episode, objectives=2)
    big_episode = make_episode(unassigned_patient, episode.program, director)
    big = draft_plan(director, big_episode, objectives=40)
    client = signed_in(director)
    client.get(url("sign", patient, small))  # the session's first request reads more

    def count(who: Patient, version: PlanVersion) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("sign", who, version)).status_code == 200
        return len(queries)

    assert count(patient, small) == count(unassigned_patient, big)
