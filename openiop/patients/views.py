"""Patient pages: thin views over the scoped selectors and the audited services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.patients import alerts, consents, disclosure, selectors, services
from openiop.patients import support as support_system
from openiop.patients.chart import chart_context
from openiop.patients.forms import (
    BreakGlassForm,
    CareTeamForm,
    ConsentForm,
    DeletePatientForm,
    EmergencyContactFormSet,
    PatientForm,
    ReleaseForm,
    ReviewForm,
    RevokeConsentForm,
    SearchForm,
    SignConsentForm,
    SupportContactForm,
    contacts_from,
)
from openiop.patients.models import (
    CareTeamMember,
    Consent,
    Disclosure,
    Patient,
    SupportContact,
    patient_in_treatment,
)
from openiop.patients.permissions import RELEASE_LIMITS


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            target = field if field in form.fields else None
            for e in errs:
                form.add_error(target, e.messages)
    else:
        form.add_error(None, error.messages)


def _chart_context(
    request: HttpRequest, patient: Patient, access: selectors.ChartAccess, tab: str = "summary"
) -> dict[str, Any]:
    return chart_context(_user(request), access, tab=tab)


@login_required
@require_http_methods(["GET", "POST"])
def patient_list(request: HttpRequest) -> HttpResponse:
    """The patient list: the newest registrations, or what a search found.

    Searches are POSTed so that names, birth dates and phone numbers never end up in a URL,
    a browser history or a server log.
    """
    user = _user(request)
    if not user.may_open_charts:
        raise PermissionDenied
    form = SearchForm(request.POST or None)
    query = form.cleaned_data.get("q", "") if form.is_valid() else ""
    result = selectors.search_patients(user, query=query, facility=request.facility)  # type: ignore[attr-defined]
    context = {"form": form, "result": result, "query": query}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    facility = request.facility  # type: ignore[attr-defined]
    if not user.may_register_patients or facility is None:
        raise PermissionDenied
    form = PatientForm(request.POST or None, show_sensitive=user.is_clinical)
    contacts = EmergencyContactFormSet(
        request.POST or None, prefix="contacts", initial=None if request.POST else [{}, {}]
    )
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        try:
            patient = services.create_patient(
                actor=user,
                facility=facility,
                data=form.patient_data(),
                emergency_contacts=contacts_from(contacts),
                confirm_not_duplicate=form.cleaned_data.get("confirm_not_duplicate", False),
            )
        except services.PossibleDuplicate as dup:
            duplicates = dup.matches
            form.add_error("confirm_not_duplicate", dup.messages)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"{patient.display_name} is registered with MRN {patient.mrn}."
            )
            return redirect("patients:chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "contacts": contacts, "duplicates": duplicates, "creating": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.may_register_patients:
        raise PermissionDenied
    access = selectors.chart_access(user, pk, section="demographics (edit)")
    patient = access.patient
    form = PatientForm(
        request.POST or None, instance=patient, show_sensitive=user.is_clinical, creating=False
    )
    initial = [
        {"id": c.pk, "name": c.name, "relationship": c.relationship, "phone": c.phone}
        for c in patient.emergency_contacts
    ]
    contacts = EmergencyContactFormSet(
        request.POST or None, prefix="contacts", initial=None if request.POST else [*initial, {}]
    )
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        fresh = Patient.objects.select_related("facility").get(pk=patient.pk)
        try:
            with transaction.atomic():  # demographics and contacts save together or not at all
                services.update_patient(actor=user, patient=fresh, data=form.patient_data())
                services.set_emergency_contacts(
                    actor=user, patient=fresh, contacts=contacts_from(contacts)
                )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "contacts": contacts, "patient": patient, "creating": False},
    )


@login_required
def patient_chart(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="chart summary")
    patient = access.patient
    context = _chart_context(request, patient, access)
    context["contacts"] = patient.emergency_contacts
    context["care_team"] = list(selectors.care_team(patient))
    context["care_team_form"] = CareTeamForm(patient=patient) if user.may_assign_care_team else None
    context["may_release"] = user.can("patients.release_records")
    return render(request, "patients/chart.html", context)


@login_required
def patient_print(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable face sheet; recorded as a print of the chart."""
    user = _user(request)
    access = selectors.chart_access(user, pk, section="face sheet", action=AuditEvent.Action.PRINT)
    context = _chart_context(request, access.patient, access)
    context["contacts"] = access.patient.emergency_contacts
    context["printed_at"] = timezone.now()
    return render(request, "patients/print.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.may_delete_patients:
        raise PermissionDenied
    access = selectors.chart_access(user, pk, section="delete confirmation")
    form = DeletePatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_patient(
                actor=user, patient=access.patient, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "The record was deleted. The audit trail keeps what it held.")
            return redirect("patients:list")
    return render(request, "patients/delete.html", {"patient": access.patient, "form": form})


@login_required
@require_POST
def care_team_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="care team")
    form = CareTeamForm(request.POST, patient=access.patient)
    if form.is_valid():
        try:
            services.assign_care_team_member(
                actor=user,
                patient=access.patient,
                member=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
            )
            messages.success(request, "Care team updated.")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.error(request, "Choose a staff member and a role.")
    return redirect("patients:chart", pk=pk)


@login_required
@require_POST
def care_team_end(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="care team")
    assignment = get_object_or_404(
        CareTeamMember, pk=assignment_pk, patient=access.patient, ended_on__isnull=True
    )
    services.end_care_team_member(actor=user, assignment=assignment)
    messages.success(request, f"{assignment.user.display_name} is no longer on the care team.")
    return redirect("patients:chart", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.may_break_glass:
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None, user=user, initial={"facility": request.facility})  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.break_the_glass(
                actor=user,
                facility=form.cleaned_data["facility"],
                mrn=form.cleaned_data["mrn"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.warning(
                request,
                f"Emergency access is open until {timezone.localtime(grant.expires_at):%H:%M}. "
                "Everything you view is recorded.",
            )
            return redirect("patients:chart", pk=grant.patient_id)
    return render(request, "patients/break_glass.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def break_glass_review(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.reviews_break_glass:
        raise PermissionDenied
    grants = selectors.break_glass_for_review(user)
    if request.method == "POST":
        grant_id = request.POST.get("grant", "")
        grant = grants.filter(pk=int(grant_id)).first() if grant_id.isdigit() else None
        if grant is None:
            raise Http404
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_break_glass(actor=user, grant=grant, note=form.cleaned_data["note"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, "Review recorded.")
        else:
            messages.error(request, "Write a review note before marking it reviewed.")
        return redirect("patients:break_glass_review")
    return render(
        request,
        "patients/break_glass_review.html",
        {"grants": grants[:200], "form": ReviewForm(), "now": timezone.now()},
    )


@login_required
@require_POST
def acknowledge_alert(request: HttpRequest, pk: int, alert_pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="clinical alert", action="update")
    alert = get_object_or_404(alerts.open_alerts(access.patient), pk=alert_pk)
    try:
        alerts.acknowledge_alert(
            actor=user, alert=alert, action_taken=request.POST.get("action_taken", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Alert acknowledged. The action taken is in the chart.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("patients:chart", pk=access.patient.pk)


# --- support system & consents tab ------------------------------------------------------------

SUPPORT_SECTION = "support system & consents"


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _require(user: User, permission: str) -> None:
    if not user.can(permission):
        raise PermissionDenied


@login_required
def support(request: HttpRequest, pk: int) -> HttpResponse:
    """The support system, the consents, the disclosure log and what may be released."""
    user = _user(request)
    access = selectors.chart_access(user, pk, section=SUPPORT_SECTION)
    patient = access.patient
    context = chart_context(user, access, tab="support")
    today = context["today"]
    may_see_consents = user.can("patients.view_consents")
    consent_rows = (
        consents.with_status(patient, consents.consents_of(patient)) if may_see_consents else []
    )
    contacts = support_system.visible_contacts(user, patient)
    in_treatment = patient_in_treatment(patient)
    # Whether a consent lets the program talk to someone is for those who may see consents.
    for contact in contacts:
        contact.talk = (  # type: ignore[attr-defined]
            support_system.talk_permission(
                contact, consent_rows, today=today, in_treatment=in_treatment
            )
            if may_see_consents
            else None
        )
    context.update(
        {
            "contacts": contacts,
            "emergency_only": not user.can("patients.view_support_contacts"),
            "may_see_contacts": user.can("patients.view_emergency_contacts"),
            "may_manage_support": user.can("patients.manage_support"),
            "may_see_consents": may_see_consents,
            "may_manage_consents": user.can("patients.manage_consents"),
            "may_release": user.can("patients.release_records"),
            "consent_list": consent_rows,
            "disclosures": list(disclosure.disclosures_of(patient)[:50])
            if may_see_consents
            else [],
        }
    )
    return render(request, "patients/support/tab.html", context)


def _contact(patient: Patient, contact_pk: int) -> SupportContact:
    contact = get_object_or_404(SupportContact, pk=contact_pk, patient=patient)
    contact.patient = patient
    return contact


@login_required
@require_http_methods(["GET", "POST"])
def support_contact_form(
    request: HttpRequest, pk: int, contact_pk: int | None = None
) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_support")
    access = selectors.chart_access(user, pk, section="support system (edit)")
    patient = access.patient
    contact = _contact(patient, contact_pk) if contact_pk else None
    form = SupportContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if contact is None:
                support_system.add_support_contact(actor=user, patient=patient, data=data)
            else:
                support_system.update_support_contact(actor=user, contact=contact, data=data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Support system updated.")
            return redirect("patients:support", pk=patient.pk)
    context = chart_context(user, access, tab="support")
    context.update({"form": form, "contact": contact})
    return render(request, "patients/support/contact_form.html", context)


@login_required
@require_POST
def support_contact_deactivate(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_support")
    access = selectors.chart_access(user, pk, section="support system (edit)")
    contact = _contact(access.patient, contact_pk)
    support_system.deactivate_support_contact(actor=user, contact=contact)
    messages.success(request, f"{contact.name} is no longer listed as active support.")
    return redirect("patients:support", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def consent_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_consents")
    access = selectors.chart_access(user, pk, section="consents (new)")
    patient = access.patient
    form = ConsentForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            consent = consents.create_consent(actor=user, patient=patient, data=form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.info(request, "Draft saved. Read it with the patient, then sign it below.")
            return redirect("patients:consent", pk=patient.pk, consent_pk=consent.pk)
    context = chart_context(user, access, tab="support")
    context["form"] = form
    return render(request, "patients/support/consent_form.html", context)


def _consent(patient: Patient, consent_pk: int) -> Consent:
    consent = get_object_or_404(consents.consents_of(patient), pk=consent_pk)
    consent.patient = patient
    return consent


def _consent_page(
    request: HttpRequest,
    access: selectors.ChartAccess,
    consent: Consent,
    *,
    sign_form: SignConsentForm | None = None,
    revoke_form: RevokeConsentForm | None = None,
) -> HttpResponse:
    user = _user(request)
    patient = access.patient
    context = chart_context(user, access, tab="support")
    (consent,) = consents.with_status(patient, [consent])
    manage = user.can("patients.manage_consents")
    context.update(
        {
            "consent": consent,
            "may_manage_consents": manage,
            "sign_form": sign_form or (SignConsentForm() if manage else None),
            "revoke_form": revoke_form
            or (RevokeConsentForm(initial={"revoked_on": context["today"]}) if manage else None),
            "disclosures": list(consent.disclosures.select_related("disclosed_by")),
        }
    )
    return render(request, "patients/support/consent.html", context)


@login_required
def consent_detail(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.view_consents")
    access = selectors.chart_access(user, pk, section="consents")
    return _consent_page(request, access, _consent(access.patient, consent_pk))


@login_required
@require_POST
def consent_sign(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_consents")
    access = selectors.chart_access(user, pk, section="consents (sign)")
    consent = _consent(access.patient, consent_pk)
    form = SignConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            consents.sign_consent(
                actor=user,
                consent=consent,
                signer=data["signer"],
                typed_signature=data["typed_signature"],
                attested=data["attested"],
                representative_name=data["representative_name"],
                representative_authority=data["representative_authority"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Signed. The consent is in effect.")
            return redirect("patients:consent", pk=pk, consent_pk=consent.pk)
    return _consent_page(request, access, consent, sign_form=form)


@login_required
@require_POST
def consent_revoke(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_consents")
    access = selectors.chart_access(user, pk, section="consents (revoke)")
    consent = _consent(access.patient, consent_pk)
    form = RevokeConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            consents.revoke_consent(
                actor=user,
                consent=consent,
                method=data["method"],
                revoked_on=data["revoked_on"],
                note=data["note"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Revoked. Nothing more may be released under it.")
            return redirect("patients:consent", pk=pk, consent_pk=consent.pk)
    return _consent_page(request, access, consent, revoke_form=form)


@login_required
@require_POST
def consent_discard(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.manage_consents")
    access = selectors.chart_access(user, pk, section="consents (discard)")
    try:
        consents.discard_draft(actor=user, consent=_consent(access.patient, consent_pk))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patients:consent", pk=pk, consent_pk=consent_pk)
    messages.success(request, "Draft discarded.")
    return redirect("patients:support", pk=pk)


@login_required
def consent_pdf(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.view_consents")
    access = selectors.chart_access(user, pk, section="consent PDF", action=AuditEvent.Action.PRINT)
    consent = _consent(access.patient, consent_pk)
    html = disclosure.consent_html(consent, user)
    return _pdf(disclosure.to_pdf(html), f"consent-{consent.pk}.pdf")


@login_required
def accounting_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(user, "patients.view_consents")
    access = selectors.chart_access(
        user, pk, section="accounting of disclosures", action=AuditEvent.Action.PRINT
    )
    html = disclosure.accounting_html(access.patient, user)
    return _pdf(disclosure.to_pdf(html), "accounting-of-disclosures.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """Release records to an outside party: the PDF, or the reason it is refused."""
    user = _user(request)
    _require(user, "patients.release_records")
    access = selectors.chart_access(user, pk, section="release of records")
    patient = access.patient
    active = [
        c
        for c in consents.with_status(
            patient, consents.consents_of(patient).filter(signed_at__isnull=False)
        )
        if c.status == "active"  # type: ignore[attr-defined]
    ]
    form = ReleaseForm(request.POST or None, consents=active, only=RELEASE_LIMITS.get(user.role))
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = disclosure.disclose(
                actor=user,
                patient=patient,
                recipient_name=data["recipient_name"],
                recipient_organization=data["recipient_organization"],
                categories=data["categories"],
                purpose=data["purpose"],
                consent=data["consent"],
                tpo_class=data["tpo_class"],
                method=data["method"],
                exception=Disclosure.ExceptionKind.MEDICAL_EMERGENCY if data["emergency"] else None,
                exception_note=data["exception_note"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                _apply_errors(form, error)
            else:
                refusal = " ".join(error.messages)
        else:
            made.patient = patient
            html = disclosure.release_html(made, user)
            return _pdf(disclosure.to_pdf(html), f"release-{made.pk}.pdf")
    context = chart_context(user, access, tab="support")
    context.update({"form": form, "refusal": refusal, "active_consents": active})
    return render(request, "patients/support/release.html", context)
