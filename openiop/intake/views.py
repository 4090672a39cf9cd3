"""The public help request and the admissions pipeline: thin views over selectors and services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.models import Facility, User
from openiop.intake import limits, rules, selectors, services
from openiop.intake.forms import (
    AssignForm,
    ContactAttemptForm,
    FollowUpForm,
    HelpRequestForm,
    LinkPatientForm,
    ListFilterForm,
    MoveForm,
    PeriodForm,
    RegisterPatientForm,
    ScheduleForm,
    ScreeningForm,
    StaffInquiryForm,
    StageForm,
    local_datetime,
    registration_initial,
)
from openiop.intake.models import Inquiry
from openiop.patients.models import Patient
from openiop.patients.services import PossibleDuplicate


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errs in error.error_dict.items():
            target = name if name in form.fields else None
            for e in errs:
                form.add_error(target, e.messages)
    else:
        form.add_error(None, error.messages)


# --- Public pages --------------------------------------------------------------------------


def _public_facilities() -> list[Facility]:
    return list(Facility.objects.filter(is_active=True).order_by("name"))


def _rate_limited(request: HttpRequest, facilities: list[Facility]) -> HttpResponse:
    response = render(request, "intake/rate_limited.html", {"facilities": facilities}, status=429)
    response["Retry-After"] = str(limits.retry_after_seconds())
    return response


@require_http_methods(["GET", "POST"])
def get_help(request: HttpRequest) -> HttpResponse:
    """Anyone may ask for help here; the answer page reveals nothing of what was sent."""
    facilities = _public_facilities()
    if request.method == "POST" and not limits.allow_help_request(request):
        return _rate_limited(request, facilities)
    form = HelpRequestForm(request.POST or None, facilities=facilities)
    if request.method == "POST":
        if form.is_spam:
            return redirect("intake:thanks")
        if facilities and form.is_valid():
            try:
                services.submit_help_request(
                    facility=form.chosen_facility(), data=form.inquiry_data()
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                return redirect("intake:thanks")
    return render(request, "intake/get_help.html", {"form": form, "facilities": facilities})


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/thanks.html", {"facilities": _public_facilities()})


# --- The pipeline ----------------------------------------------------------------------------


def _facility(request: HttpRequest) -> Facility:
    user = _user(request)
    if not user.can("intake.view_inquiry"):
        raise PermissionDenied("Your role does not see help requests.")
    facility: Facility | None = request.facility  # type: ignore[attr-defined]
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return facility


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    facility = _facility(request)
    today = timezone.localdate(timezone=facility.zone)
    period_form = PeriodForm(request.GET or None)
    start, end = period_form.period(today)
    context = {
        "columns": selectors.board(user, facility),
        "conversion": selectors.conversion(user, facility, start=start, end=end),
        "period_form": period_form,
        "facility": facility,
        "today": today,
        "may_work": user.can("intake.work_pipeline"),
        "stage_choices": [(s, rules.STAGE_LABELS[s]) for s in (*rules.PIPELINE, rules.UNREACHABLE)],
    }
    return render(request, "intake/board.html", context)


@login_required
def inquiry_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    facility = _facility(request)
    owners = list(selectors.owner_choices(facility))
    form = ListFilterForm(request.GET or None, owners=owners)
    filters: dict[str, Any] = {}
    if form.is_valid():
        chosen = form.cleaned_data.get("owner") or ""
        filters = {
            "stage": form.cleaned_data.get("stage") or "",
            "owner": form.owners.get(chosen),
            "unowned": chosen == "none",
            "overdue_only": bool(form.cleaned_data.get("overdue")),
        }
    page = Paginator(selectors.inquiry_list(user, facility, **filters), 25).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate(timezone=facility.zone)
    selectors.mark_overdue(list(page.object_list), today)
    selectors.record_list_view(
        user, section="inquiry list", count=len(page.object_list), facility=facility
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "intake/list.html",
        {"form": form, "page": page, "facility": facility, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def inquiry_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    facility = _facility(request)
    if not user.can("intake.work_pipeline"):
        raise PermissionDenied("Your role does not log inquiries.")
    form = StaffInquiryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            inquiry = services.log_inquiry(actor=user, facility=facility, data=form.inquiry_data())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Inquiry saved. It is on the board under New.")
            return redirect("intake:detail", pk=inquiry.pk)
    return render(request, "intake/new.html", {"form": form, "facility": facility})


def _detail(
    request: HttpRequest, inquiry: Inquiry, status: int = 200, **forms: Any
) -> HttpResponse:
    user = _user(request)
    facility = inquiry.facility
    today = timezone.localdate(timezone=facility.zone)
    selectors.mark_overdue([inquiry], today)
    owners = selectors.owner_choices(facility)
    forms.setdefault("stage_form", StageForm(initial={"stage": inquiry.stage}))
    forms.setdefault(
        "assign_form",
        AssignForm(
            initial={"owner": inquiry.owner_id, "next_follow_up": inquiry.next_follow_up},
            owners=owners,
            today=today,
        ),
    )
    forms.setdefault(
        "follow_up_form", FollowUpForm(initial={"next_follow_up": inquiry.next_follow_up})
    )
    forms.setdefault(
        "schedule_form",
        ScheduleForm(
            initial={
                "when": timezone.localtime(inquiry.assessment_scheduled_for, facility.zone)
                if inquiry.assessment_scheduled_for
                else None
            }
        ),
    )
    forms.setdefault("contact_form", ContactAttemptForm())
    screenings = selectors.screenings_of(user, inquiry)
    context = {
        "inquiry": inquiry,
        "facility": facility,
        "contacts": list(selectors.contact_log(inquiry)),
        "history": list(selectors.stage_history(inquiry)),
        "screenings": screenings,
        "latest_screening": screenings[0] if screenings else None,
        "may_work": user.can("intake.work_pipeline"),
        "may_log_contact": user.can("intake.log_contact"),
        "may_screen": user.can("intake.screen"),
        "may_see_screening": user.can("intake.view_screening"),
        "may_register": user.can("intake.work_pipeline") and user.may_register_patients,
        "patient_visible": inquiry.patient_id is not None and user.may_open_charts,
        "failed": status == 400,
        **forms,
    }
    return render(request, "intake/detail.html", context, status=status)


@login_required
def inquiry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = selectors.inquiry_for(_user(request), pk)
    return _detail(request, inquiry)


def _for_change(request: HttpRequest, pk: int) -> Inquiry:
    # Audited as a view (the page may show it again); the service audits the change itself.
    return selectors.inquiry_for(_user(request), pk)


@login_required
@require_POST
def inquiry_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's "Move to…": stages that need nothing more than a click."""
    user = _user(request)
    inquiry = _for_change(request, pk)
    form = MoveForm(request.POST, current=inquiry.stage)
    if not form.is_valid():
        messages.error(request, f"{inquiry.short_name}: choose a stage from the list.")
        return redirect("intake:board")
    try:
        services.change_stage(actor=user, inquiry=inquiry, stage=form.cleaned_data["stage"])
    except ValidationError as error:
        messages.error(request, f"{inquiry.short_name}: {' '.join(error.messages)}")
    else:
        label = rules.STAGE_LABELS[form.cleaned_data["stage"]]
        messages.success(request, f"{inquiry.short_name} moved to {label}.")
    return redirect("intake:board")


@login_required
@require_POST
def inquiry_stage(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inquiry = _for_change(request, pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.change_stage(
                actor=user,
                inquiry=inquiry,
                stage=form.cleaned_data["stage"],
                referred_to=form.cleaned_data["referred_to"],
                not_admitted_reason=form.cleaned_data["not_admitted_reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Moved to {rules.STAGE_LABELS[form.cleaned_data['stage']]}.")
            return redirect("intake:detail", pk=inquiry.pk)
    return _detail(request, inquiry, status=400, stage_form=form)


@login_required
@require_POST
def inquiry_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inquiry = _for_change(request, pk)
    today = timezone.localdate(timezone=inquiry.facility.zone)
    if user.can("intake.work_pipeline"):
        form: Any = AssignForm(
            request.POST, owners=selectors.owner_choices(inquiry.facility), today=today
        )
        name = "assign_form"
    else:
        form = FollowUpForm(request.POST)
        name = "follow_up_form"
    if form.is_valid():
        try:
            services.update_inquiry(actor=user, inquiry=inquiry, data=form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("intake:detail", pk=inquiry.pk)
    return _detail(request, inquiry, status=400, **{name: form})


@login_required
@require_POST
def inquiry_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inquiry = _for_change(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.schedule_assessment(
                actor=user,
                inquiry=inquiry,
                when=local_datetime(form.cleaned_data["when"], inquiry.facility),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Assessment scheduled.")
            return redirect("intake:detail", pk=inquiry.pk)
    return _detail(request, inquiry, status=400, schedule_form=form)


@login_required
@require_POST
def inquiry_contact(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inquiry = _for_change(request, pk)
    form = ContactAttemptForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():  # the attempt and the follow-up date, or neither
                services.add_contact_attempt(
                    actor=user,
                    inquiry=inquiry,
                    method=form.cleaned_data["method"],
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                )
                if form.cleaned_data.get("next_follow_up"):
                    services.update_inquiry(
                        actor=user,
                        inquiry=inquiry,
                        data={"next_follow_up": form.cleaned_data["next_follow_up"]},
                    )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Contact attempt logged.")
            return redirect("intake:detail", pk=inquiry.pk)
    return _detail(request, inquiry, status=400, contact_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def inquiry_screening(request: HttpRequest, pk: int) -> HttpResponse:
    """Screen for IOP fit. "Check" shows the recommendation without saving; "Save" saves."""
    user = _user(request)
    if not user.can("intake.screen"):
        raise PermissionDenied("Your role does not screen for IOP fit.")
    inquiry = selectors.inquiry_for(user, pk)
    form = ScreeningForm(request.POST or None)
    advice = None
    if request.method == "POST" and form.is_valid():
        data = form.screening_data()
        try:
            if "check" in request.POST:
                advice = services.preview_screening(data)
            else:
                screening = services.record_screening(actor=user, inquiry=inquiry, data=data)
                if screening.urgent:
                    messages.error(request, f"Urgent: {screening.next_step}")
                else:
                    messages.success(
                        request, f"Screening saved: {screening.get_outcome_display()}."
                    )
                return redirect("intake:detail", pk=inquiry.pk)
        except ValidationError as error:
            _apply_errors(form, error)
        except ValueError as error:  # a C-SSRS answer the scoring refused
            form.add_error(None, str(error))
    return render(
        request,
        "intake/screening_form.html",
        {"inquiry": inquiry, "form": form, "advice": advice},
        status=400 if request.method == "POST" and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def inquiry_register(request: HttpRequest, pk: int) -> HttpResponse:
    """Register the person as a patient from the inquiry, or link an existing record."""
    user = _user(request)
    if not (user.can("intake.work_pipeline") and user.may_register_patients):
        raise PermissionDenied("Your role does not register patients.")
    inquiry = selectors.inquiry_for(user, pk)
    if inquiry.patient_id is not None:
        messages.info(request, "This inquiry is already linked to a patient.")
        return redirect("intake:detail", pk=inquiry.pk)
    form = RegisterPatientForm(
        request.POST or None,
        initial=registration_initial(inquiry),
        show_sensitive=user.is_clinical,
    )
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.register_patient(
                actor=user,
                inquiry=inquiry,
                data=form.patient_data(),
                confirm_not_duplicate=form.cleaned_data.get("confirm_not_duplicate", False),
            )
        except PossibleDuplicate as dup:
            duplicates = [p for p in dup.matches if p.facility_id == inquiry.facility_id]
            form.add_error("confirm_not_duplicate", dup.messages)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"{patient.display_name} is registered with MRN {patient.mrn}."
            )
            return redirect("intake:detail", pk=inquiry.pk)
    return render(
        request,
        "intake/register.html",
        {"inquiry": inquiry, "form": form, "duplicates": duplicates},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def inquiry_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inquiry = _for_change(request, pk)
    form = LinkPatientForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the patient to link.")
        return redirect("intake:register", pk=inquiry.pk)
    try:
        services.link_patient(actor=user, inquiry=inquiry, patient_id=form.cleaned_data["patient"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("intake:register", pk=inquiry.pk)
    messages.success(request, "The inquiry is linked to the patient's record.")
    return redirect("intake:detail", pk=inquiry.pk)
