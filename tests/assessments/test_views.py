"""Assessment pages through the test client: who sees what, drafts, signing, printing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.assessments.models import AsamAssessment, AsamRule, Biopsychosocial, Status
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.assessments.factories import asam, biopsychosocial, ratings_data
from tests.conftest import body, last_event, signed_in
from tests.factories import PASSWORD

HTMX = {"HX-Request": "true"}


def test_the_tab_lists_assessments_with_status_and_level(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    asam(patient, clinician, signed=True, final_level="2.1")
    biopsychosocial(patient, clinician)
    response = clinician_client.get(f"/assessments/patient/{patient.pk}/")
    assert response.status_code == 200
    html = body(response)
    assert "Intensive outpatient (2.1)" in html and "Signed" in html and "Draft" in html
    assert "New ASAM assessment" in html and "New biopsychosocial assessment" in html
    event = last_event(action=AuditEvent.Action.VIEW, section="assessments")
    assert event.patient_id == patient.pk


def test_the_tab_costs_a_constant_number_of_queries(
    clinician_client: Client,
    clinician: User,
    patient: Patient,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for _ in range(5):
        asam(patient, clinician, signed=True)
        biopsychosocial(patient, clinician, signed=True)
    with django_assert_max_num_queries(14):
        assert clinician_client.get(f"/assessments/patient/{patient.pk}/").status_code == 200


def test_an_outsider_gets_404_and_the_auditor_403(
    other_clinician: User, auditor: User, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician)
    b = biopsychosocial(patient, clinician)
    outsider, auditor_client = signed_in(other_clinician), signed_in(auditor)
    for url in (
        f"/assessments/patient/{patient.pk}/",
        f"/assessments/patient/{patient.pk}/asam/new/",
        f"/assessments/asam/{a.pk}/",
        f"/assessments/asam/{a.pk}/edit/",
        f"/assessments/biopsychosocial/{b.pk}/",
        f"/assessments/biopsychosocial/{b.pk}/edit/",
    ):
        assert outsider.get(url).status_code == 404, url
        assert auditor_client.get(url).status_code == 403, url
    assert (
        outsider.post(f"/assessments/asam/{a.pk}/sign/", {"password": PASSWORD}).status_code == 404
    )
    assert (
        outsider.post(f"/assessments/patient/{patient.pk}/biopsychosocial/new/").status_code == 404
    )
    assert (
        outsider.post(f"/assessments/patient/{patient.pk}/asam/recommendation/", {}).status_code
        == 404
    )
    assert last_event(action=AuditEvent.Action.DENIED).actor == other_clinician


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ALUMNI_COORDINATOR])
def test_other_roles_are_refused(
    make_user: Callable[..., User], role: str, patient: Patient
) -> None:
    client = signed_in(make_user(role))
    assert client.get(f"/assessments/patient/{patient.pk}/").status_code == 403


def test_it_creates_a_draft_and_shows_the_recommendation(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(
        f"/assessments/patient/{patient.pk}/asam/new/", ratings_data(1, 1, 3, 1, 1, 1)
    )
    a = AsamAssessment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/asam/{a.pk}/"
    html = body(clinician_client.get(f"/assessments/asam/{a.pk}/"))
    assert "Partial hospitalization (2.5)" in html and "Sign and lock" in html


def test_the_form_refuses_a_rating_of_5_with_a_clear_message(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(
        f"/assessments/patient/{patient.pk}/asam/new/", ratings_data(0, 0, 0, 0, 5, 0)
    )
    assert response.status_code == 200
    html = body(response)
    assert "Nothing was saved" in html
    assert "5 is not on the scale" in html and "Dimension 5" in html
    assert not AsamAssessment.objects.exists()


def test_the_form_asks_for_the_override_reason(clinician_client: Client, patient: Patient) -> None:
    data = ratings_data(0, 0, 0, 0, 0, 0, final_level="2.1")
    html = body(clinician_client.post(f"/assessments/patient/{patient.pk}/asam/new/", data))
    assert "Write the reason for the override" in html
    assert not AsamAssessment.objects.exists()


def test_the_recommendation_box_updates_as_ratings_change(
    clinician_client: Client, patient: Patient
) -> None:
    url = f"/assessments/patient/{patient.pk}/asam/recommendation/"
    partial = body(clinician_client.post(url, {"d1_rating": "3"}, headers=HTMX))
    assert 'id="recommendation"' in partial and "still to rate: D2, D3, D4, D5, D6" in partial
    partial = body(clinician_client.post(url, ratings_data(3, 0, 0, 0, 0, 0), headers=HTMX))
    assert "Withdrawal management first" in partial
    partial = body(
        clinician_client.post(url, ratings_data(0, 0, 0, 0, 0, 3, final_level="2.5"), headers=HTMX)
    )
    assert "clinician chooses" in partial and "differs from the recommendation" in partial
    partial = body(clinician_client.post(url, ratings_data(0, 5, 0, 0, 0, 0), headers=HTMX))
    assert "still to rate: D2" in partial


def test_signing_from_the_page_locks_the_assessment(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician, final_level="2.1")
    wrong = clinician_client.post(f"/assessments/asam/{a.pk}/sign/", {"password": "nope"})
    assert wrong.status_code == 200 and "That is not your password" in body(wrong)
    ok = clinician_client.post(f"/assessments/asam/{a.pk}/sign/", {"password": PASSWORD})
    assert ok.status_code == 302
    a.refresh_from_db()
    assert a.status == Status.SIGNED
    edit = clinician_client.get(f"/assessments/asam/{a.pk}/edit/", follow=True)
    assert "locked" in body(edit)
    posted = clinician_client.post(
        f"/assessments/asam/{a.pk}/edit/", ratings_data(4, 4, 4, 4, 4, 4)
    )
    assert posted.status_code == 302
    a.refresh_from_db()
    assert a.d1_rating == 1
    clinician_client.post(f"/assessments/asam/{a.pk}/addendum/", {"text": "Family meeting held."})
    assert a.addenda.get().text == "Family meeting held."


def test_admissions_sees_the_level_but_not_the_narrative(
    admissions: User, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician, signed=True, final_level="2.1")
    b = biopsychosocial(patient, clinician, signed=True)
    client = signed_in(admissions)
    html = body(client.get(f"/assessments/asam/{a.pk}/"))
    assert "Intensive outpatient (2.1)" in html
    assert "synthetic rationale" not in html and "Sign and lock" not in html
    tab = body(client.get(f"/assessments/patient/{patient.pk}/"))
    assert "clinical team only" in tab and f"/biopsychosocial/{b.pk}/" not in tab
    assert client.get(f"/assessments/biopsychosocial/{b.pk}/").status_code == 403
    assert client.get(f"/assessments/patient/{patient.pk}/asam/new/").status_code == 403


def test_trauma_history_is_shown_to_the_clinical_team_only(
    clinician: User, admissions: User, patient: Patient
) -> None:
    b = biopsychosocial(patient, clinician, signed=True)
    html = body(signed_in(clinician).get(f"/assessments/biopsychosocial/{b.pk}/"))
    assert "car accident at 19" in html and "F10.20" in html and "Alcohol" in html
    assert "car accident" not in body(
        signed_in(admissions).get(f"/assessments/patient/{patient.pk}/")
    )


def test_it_starts_a_draft_and_saves_a_section_without_javascript(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(f"/assessments/patient/{patient.pk}/biopsychosocial/new/")
    b = Biopsychosocial.objects.get()
    assert response["Location"] == f"/assessments/biopsychosocial/{b.pk}/edit/"
    page = body(clinician_client.get(response["Location"]))
    assert "Trauma history (clinical team only)" in page and "Find a code in the list" in page
    saved = clinician_client.post(
        f"/assessments/biopsychosocial/{b.pk}/section/housing/",
        {"housing-housing": "Lives with sister."},
    )
    assert saved.status_code == 302 and saved["Location"].endswith("#housing")
    b.refresh_from_db()
    assert b.housing == "Lives with sister."


def test_autosave_answers_with_the_time_or_the_problem(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    b = Biopsychosocial.objects.create(patient=patient, created_by=clinician)
    url = f"/assessments/biopsychosocial/{b.pk}/section/medical/"
    ok = body(
        clinician_client.post(
            url,
            {
                "medical-bp_systolic": "130",
                "medical-bp_diastolic": "85",
                "medical-pregnancy": "yes",
            },
            headers=HTMX,
        )
    )
    assert "Saved at" in ok
    bad = body(clinician_client.post(url, {"medical-pulse": "400"}, headers=HTMX))
    assert "Not saved" in bad and "Pulse must be between 30 and 220" in bad
    b.refresh_from_db()
    assert b.bp_systolic == 130 and b.pulse is None and b.pregnancy == "yes"
    page = body(clinician_client.get(f"/assessments/biopsychosocial/{b.pk}/edit/"))
    assert "coordinate prenatal care" in page


def test_an_invalid_section_re_renders_with_messages(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    b = Biopsychosocial.objects.create(patient=patient, created_by=clinician, housing="Kept.")
    response = clinician_client.post(
        f"/assessments/biopsychosocial/{b.pk}/section/diagnoses/",
        {"dx_rows": "3", "dx1-code": "F10-20", "dx2-code": "F11.20"},
    )
    assert response.status_code == 200
    html = body(response)
    assert "This section was not saved" in html and "is not an ICD-10-CM code" in html
    assert 'value="F10-20"' in html and "Kept." in html
    assert not b.diagnoses.exists()


def test_substance_rows_and_diagnoses_save_from_the_page(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    b = Biopsychosocial.objects.create(patient=patient, created_by=clinician)
    clinician_client.post(
        f"/assessments/biopsychosocial/{b.pk}/section/substance_use/",
        {
            "sub1-substance": "7",
            "sub1-route": "1",
            "sub1-frequency": "3",
            "sub1-age_first_use": "22",
        },
    )
    row = b.substance_uses.get()
    assert (row.rank, row.substance, row.route, row.frequency) == (1, 7, 1, 3)
    status = body(
        clinician_client.post(
            f"/assessments/biopsychosocial/{b.pk}/section/diagnoses/",
            {"dx_rows": "3", "dx1-code": "f11.20", "dx1-is_primary": "on"},
            headers=HTMX,
        )
    )
    assert "F11.20 — Opioid dependence, uncomplicated" in status


def test_signing_the_biopsychosocial_from_the_page(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    b = Biopsychosocial.objects.create(patient=patient, created_by=clinician)
    refused = body(
        clinician_client.post(f"/assessments/biopsychosocial/{b.pk}/sign/", {"password": PASSWORD})
    )
    assert "Not signed" in refused and "own words" in refused
    b.goals_own_words = "“Get my license back.”"
    b.no_substance_use_reported = True
    b.save()
    ok = clinician_client.post(f"/assessments/biopsychosocial/{b.pk}/sign/", {"password": PASSWORD})
    assert ok["Location"] == f"/assessments/biopsychosocial/{b.pk}/"
    locked = clinician_client.post(
        f"/assessments/biopsychosocial/{b.pk}/section/housing/",
        {"housing-housing": "x"},
        headers=HTMX,
    )
    assert "locked" in body(locked)
    b.refresh_from_db()
    assert b.housing == ""


def test_printing_a_signed_assessment_is_audited(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician, signed=True)
    b = biopsychosocial(patient, clinician, signed=True)
    html = body(clinician_client.get(f"/assessments/asam/{a.pk}/print/"))
    assert "42 CFR part 2 prohibits unauthorized use or disclosure of these records." in html
    assert last_event(action=AuditEvent.Action.PRINT).patient_id == patient.pk
    assert clinician_client.get(f"/assessments/biopsychosocial/{b.pk}/print/").status_code == 200
    draft = asam(patient, clinician)
    assert clinician_client.get(f"/assessments/asam/{draft.pk}/print/").status_code == 404


def test_the_icd10_search_answers_an_htmx_partial(clinician_client: Client) -> None:
    partial = body(clinician_client.get("/assessments/icd10/", {"q": "F10.2"}, headers=HTMX))
    assert 'data-code="F10.20"' in partial and "<html" not in partial
    page = body(clinician_client.post("/assessments/icd10/", {"q": "gambling"}))
    assert "F63.0" in page and "<html" in page


def test_the_director_edits_the_level_of_care_table(
    director_client: Client, director: User, clinician_client: Client
) -> None:
    page = body(director_client.get("/assessments/asam-rules/"))
    assert "default table" in page
    data = {
        "rules-TOTAL_FORMS": "2",
        "rules-INITIAL_FORMS": "0",
        "rules-0-ORDER": "1",
        "rules-0-match": "any",
        "rules-0-dimensions": ["1", "2"],
        "rules-0-at_least": "3",
        "rules-0-recommendation": "2.5",
        "rules-1-ORDER": "2",
        "rules-1-match": "otherwise",
        "rules-1-recommendation": "1",
    }
    assert director_client.post("/assessments/asam-rules/", data).status_code == 302
    assert list(AsamRule.objects.values_list("order", "recommendation")) == [(1, "2.5"), (2, "1")]
    broken = {**data, "rules-1-match": "any", "rules-1-dimensions": ["6"], "rules-1-at_least": "5"}
    html = body(director_client.post("/assessments/asam-rules/", broken))
    assert "was not saved" in html and "0 to 4" in html and "must be “otherwise”" in html
    assert AsamRule.objects.count() == 2
    assert clinician_client.get("/assessments/asam-rules/").status_code == 403


def test_the_settings_pages_check_the_whole_table(admin_client: Client, facility: Any) -> None:
    organization = facility.organization
    url = f"/admin/assessments/asamruletable/{organization.pk}/change/"
    assert admin_client.get(url).status_code == 200
    form = {
        "asam_rules-TOTAL_FORMS": "1",
        "asam_rules-INITIAL_FORMS": "0",
        "asam_rules-0-order": "1",
        "asam_rules-0-match": "any",
        "asam_rules-0-dimensions": "[1]",
        "asam_rules-0-at_least": "3",
        "asam_rules-0-recommendation": "wm",
    }
    refused = admin_client.post(url, form)
    assert refused.status_code == 200 and "must be “otherwise”" in body(refused)
    assert not AsamRule.objects.exists()
    form.update(
        {
            "asam_rules-TOTAL_FORMS": "2",
            "asam_rules-1-order": "2",
            "asam_rules-1-match": "otherwise",
            "asam_rules-1-dimensions": "[]",
            "asam_rules-1-at_least": "0",
            "asam_rules-1-recommendation": "2.1",
        }
    )
    assert admin_client.post(url, form).status_code == 302
    assert AsamRule.objects.filter(organization=organization).count() == 2
    assert last_event(section="ASAM level-of-care table (settings)").action == "update"
