"""New versions, signatures, the version list, side-by-side comparison and the printable plan.

Every page opens the chart through ``chart_access`` (404 out of scope, audited) after the
role check (403). The services are the real check for writes: a view only parses the form,
calls the service and shows its errors on the form (nothing is saved on error).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.chart import chart_context
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.patients.disclosure import to_pdf
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans import rules, selectors, services
from openiop.plans.models import PlanVersion, Signature, TreatmentPlan

SECTION = "treatment plan"
ATTESTATION = "I took part in writing this plan and I agree with it."
ACTIVE_MESSAGE = "The plan is active."
LOCK_NOTE = "Once anyone signs, this version is locked."


# --- forms -------------------------------------------------------------------------------------


class NewVersionForm(forms.Form):
    reason = forms.CharField(
        label="What changes in this version, and why",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example: “Review of 03/02: objective 2 met; adding family sessions.”",
        error_messages={"required": "Write what changes in this version and why."},
    )


class PatientSignatureForm(forms.Form):
    """The patient signs on the pad (``image``, filled by signature-pad.js) or types their
    name; both need the attestation. Staff collect it on their own tablet."""

    role = forms.CharField(widget=forms.HiddenInput, initial=Signature.Role.PATIENT)
    image = forms.CharField(widget=forms.HiddenInput, required=False)
    typed_name = forms.CharField(
        label="Patient's full name, typed by the patient",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Not needed when the patient signed on the pad above.",
    )
    attested = forms.BooleanField(
        label=ATTESTATION,
        error_messages={
            "required": "The patient confirms they took part in and agree with this plan."
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "patient_%s")
        super().__init__(*args, **kwargs)


class PasswordSignatureForm(forms.Form):
    """The clinician signs, or the supervisor co-signs, by re-entering their password."""

    role = forms.CharField(widget=forms.HiddenInput)
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Re-enter your password to sign."},
    )

    def __init__(self, *args: Any, role: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{role}_%s")
        kwargs.setdefault("initial", {"role": role})
        super().__init__(*args, **kwargs)


# --- helpers -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            for e in errs:
                form.add_error(field if field in form.fields else None, e.messages)
    else:
        form.add_error(None, error.messages)


def _current_plan(patient: Patient) -> TreatmentPlan | None:
    """The plan of the open episode, else of the latest one."""
    return (
        TreatmentPlan.objects.filter(patient=patient)
        .select_related("episode__program", "patient__facility")
        .order_by(
            F("episode__discharge_date").desc(nulls_first=True),
            "-episode__admission_date",
            "-created_at",
        )
        .first()
    )


def _version_of(patient: Patient, vpk: int) -> PlanVersion:
    """A version of this patient's plans (404 for anyone else's)."""
    version = (
        PlanVersion.objects.filter(pk=vpk, plan__patient=patient)
        .select_related("plan__episode__program", "plan__patient__facility")
        .first()
    )
    if version is None:
        raise Http404("No such plan version for this patient.")
    return version


def _tree(version: PlanVersion) -> PlanVersion:
    tree = selectors.version_tree(version.pk, version.plan)
    if tree is None:  # pragma: no cover - the version was just read
        raise Http404("No such plan version.")
    return tree


def _open(
    user: User, pk: int, *, write: bool = False, section: str = SECTION
) -> tuple[ChartAccess, dict[str, Any]]:
    if write:
        selectors.require_writer(user)
    else:
        selectors.require_reader(user)
    access = chart_access(user, pk, section=section)
    return access, chart_context(user, access, tab="plan")


# --- a new version -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def new_version(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access, context = _open(user, pk, write=True, section="treatment plan (new version)")
    plan = _current_plan(access.patient)
    latest = plan.versions.order_by("-number").first() if plan else None
    form = NewVersionForm(request.POST or None)
    if request.method == "POST" and plan is not None and form.is_valid():
        try:
            version = services.new_version(
                actor=user, plan=plan, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            _apply(form, error)
        else:
            messages.success(
                request,
                f"Version {version.number} started as a draft, copied from version "
                f"{version.number - 1}. The signed versions stay as they are; this draft "
                "needs every signature again.",
            )
            return redirect("plans:version", pk=access.patient.pk, vpk=version.pk)
    context.update(
        {
            "plan": plan,
            "latest": latest,
            "form": form,
            "episode_open": bool(plan and plan.episode.is_open),
        }
    )
    return render(request, "plans/new_version.html", context)


# --- signatures --------------------------------------------------------------------------------


def _may_give(user: User, version: PlanVersion, role: str) -> bool:
    """Whether to offer this user the form for ``role`` (the service decides for real)."""
    if role == Signature.Role.CLINICIAN:
        return user.can("plans.sign_as_clinician")
    if role == Signature.Role.SUPERVISOR:
        clinician = next((s for s in version.signatures.all() if s.role == "clinician"), None)
        own = clinician is not None and clinician.signed_by_id == user.pk
        return user.can("plans.sign_as_supervisor") and not own
    return True  # any writer collects the patient's signature


def _sign_forms(user: User, version: PlanVersion, missing: list[str]) -> dict[str, forms.Form]:
    """One empty form per missing signature this user can give."""
    out: dict[str, forms.Form] = {}
    for role in missing:
        if not _may_give(user, version, role):
            continue
        if role == Signature.Role.PATIENT:
            out[role] = PatientSignatureForm()
        else:
            out[role] = PasswordSignatureForm(role=role)
    return out


@login_required
@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    user = _user(request)
    access, context = _open(user, pk, write=True, section="treatment plan (signatures)")
    version = _version_of(access.patient, vpk)
    status = 200
    role = ""
    refused: forms.Form | None = None
    if request.method == "POST":
        role = str(request.POST.get("role", ""))
        form: forms.Form
        if role == Signature.Role.PATIENT:
            form = PatientSignatureForm(request.POST)
        elif role in (Signature.Role.CLINICIAN, Signature.Role.SUPERVISOR):
            form = PasswordSignatureForm(request.POST, role=role)
        else:
            messages.error(request, "Choose who is signing: the patient, clinician or supervisor.")
            return redirect("plans:sign", pk=access.patient.pk, vpk=version.pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.sign(
                    actor=user,
                    version=version,
                    role=role,
                    password=data.get("password", ""),
                    typed_name=data.get("typed_name", ""),
                    attested=bool(data.get("attested")),
                    image=data.get("image", ""),
                )
            except PermissionDenied as denied:
                form.add_error(None, str(denied) or "Your role cannot give this signature.")
                status = 403
            except ValidationError as error:
                _apply(form, error)
            else:
                version.refresh_from_db()
                label = Signature.Role(role).label
                if version.status == PlanVersion.Status.ACTIVE:
                    messages.success(request, f"{label} signature saved. {ACTIVE_MESSAGE}")
                else:
                    messages.success(request, f"{label} signature saved.")
                return redirect("plans:sign", pk=access.patient.pk, vpk=version.pk)
        refused = form
    tree = _tree(version)
    waiting = tree.status in (PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING)
    missing = services.missing_signatures(tree) if waiting else []
    blocking = services.sign_problems(tree) if waiting else {}
    may_sign = waiting and not blocking and tree.plan.episode.is_open
    sign_forms = _sign_forms(user, tree, missing) if may_sign else {}
    if refused is not None:
        sign_forms[role] = refused
    clinician_sig = next((s for s in tree.signatures.all() if s.role == "clinician"), None)
    context.update(
        {
            "version": tree,
            "plan": tree.plan,
            "signatures": list(tree.signatures.all()),
            "missing": [Signature.Role(r).label for r in missing],
            "blocking": list(blocking.values()),
            "waiting": waiting,
            "may_sign": may_sign,
            "patient_form": sign_forms.get(Signature.Role.PATIENT),
            "clinician_form": sign_forms.get(Signature.Role.CLINICIAN),
            "supervisor_form": sign_forms.get(Signature.Role.SUPERVISOR),
            "cannot_give": [
                Signature.Role(r).label for r in missing if r not in sign_forms and may_sign
            ],
            "cosign_needed_for_me": bool(
                user.needs_cosign and Signature.Role.CLINICIAN in sign_forms
            ),
            "cosign_pending": bool(
                clinician_sig
                and clinician_sig.signed_by.needs_cosign
                and Signature.Role.SUPERVISOR in missing
            ),
            "active_message": ACTIVE_MESSAGE,
            "lock_note": LOCK_NOTE,
            "attestation": ATTESTATION,
        }
    )
    return render(request, "plans/sign.html", context, status=status)


# --- the version list and comparison -----------------------------------------------------------


@login_required
@require_GET
def versions(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access, context = _open(user, pk, section="treatment plan (versions)")
    plan = _current_plan(access.patient)
    rows = list(selectors.versions_of(plan)) if plan else []
    context.update(
        {
            "plan": plan,
            "versions": rows,
            "default_a": rows[1].pk if len(rows) > 1 else None,
            "default_b": rows[0].pk if rows else None,
            "may_write": user.can("plans.change_treatmentplan"),
            "episode_open": bool(plan and plan.episode.is_open),
        }
    )
    return render(request, "plans/versions.html", context)


def _pk(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise Http404("No such plan version.") from None


@login_required
@require_GET
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access, context = _open(user, pk, section="treatment plan (comparison)")
    a_pk, b_pk = _pk(request.GET.get("a")), _pk(request.GET.get("b"))
    if a_pk is not None:
        plan: TreatmentPlan | None = _version_of(access.patient, a_pk).plan
    else:
        plan = _current_plan(access.patient)
    choices = (
        list(plan.versions.order_by("-number").values("pk", "number", "status")) if plan else []
    )
    if a_pk is None or b_pk is None:
        if len(choices) > 1:
            a_pk = a_pk or choices[1]["pk"]
            b_pk = b_pk or choices[0]["pk"]
        elif choices:
            a_pk = b_pk = a_pk or b_pk or choices[0]["pk"]
    left = selectors.version_tree(a_pk, plan) if plan and a_pk else None
    right = selectors.version_tree(b_pk, plan) if plan and b_pk else None
    if (a_pk and left is None) or (b_pk and right is None):
        raise Http404("Both versions must belong to this patient's plan.")
    if left is not None and right is not None and left.number > right.number:
        left, right = right, left  # the older version on the left, so "Added" means added
    changes_only = request.GET.get("changes_only") == "1"
    comparison = None
    rows: list[rules.Row] = []
    if left is not None and right is not None:
        comparison = rules.compare(
            selectors.comparison_items(left), selectors.comparison_items(right)
        )
        rows = [r for r in comparison.rows if not (changes_only and r.change == "same")]
    context.update(
        {
            "plan": plan,
            "choices": choices,
            "left": left,
            "right": right,
            "rows": rows,
            "counts": comparison.counts if comparison else None,
            "changes_only": changes_only,
            "change_labels": CHANGE_LABELS,
        }
    )
    return render(request, "plans/compare.html", context)


CHANGE_LABELS = {
    "same": "Same",
    "changed": "Changed",
    "added": "Added",
    "removed": "Removed",
}


# --- printing ----------------------------------------------------------------------------------


@login_required
@require_GET
def print_version(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    """A printable copy of one version; ``?format=pdf`` gives a PDF. Both are audited."""
    user = _user(request)
    selectors.require_reader(user)
    access = chart_access(user, pk, section="treatment plan (print)")
    patient = access.patient
    version = _tree(_version_of(patient, vpk))
    as_pdf = request.GET.get("format") == "pdf"
    record(
        actor=user,
        action=AuditEvent.Action.EXPORT if as_pdf else AuditEvent.Action.PRINT,
        patient=patient,
        obj=version,
        section=SECTION,
        detail={
            "plan": version.plan_id,
            "version": version.number,
            "format": "pdf" if as_pdf else "html",
        },
    )
    context = {
        "patient": patient,
        "version": version,
        "plan": version.plan,
        "episode": version.plan.episode,
        "signatures": list(version.signatures.all()),
        "notice": PART2_NOTICE,
        "printed_at": timezone.now(),
        "zone": patient.facility.time_zone,
        "user": user,
        "pdf": as_pdf,
    }
    if as_pdf:
        html = render_to_string("plans/print.html", context, request=None)
        response = HttpResponse(to_pdf(html), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="treatment-plan-v{version.number}.pdf"'
        )
        return response
    return render(request, "plans/print.html", context)
