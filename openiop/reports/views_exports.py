"""Background exports with a progress bar, and the TEDS page (validation, then the export).

Only the person who started an export sees it (anyone else gets 404); a role that may not
run an export gets 403 and the refusal goes to the audit trail. The TEDS page names the
patients whose records miss a required field (staff need that to correct the chart), so it
is the clinical director's and administrator's, and each patient shown is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.reports import exports as service
from openiop.reports import teds as teds_file
from openiop.reports.forms_exports import ExportStartForm, RangeForm, TedsForm

TEDS_SECTION = "TEDS validation"
PROBLEMS_PER_PAGE = 100
RECENT_EXPORTS = 50
TEDS_REFUSED = "Only the clinical director and administrators prepare the TEDS files."
EXPORTS_REFUSED = "Your role does not run report exports."


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refuse(user: User, section: str, message: str, **detail: Any) -> PermissionDenied:
    record(actor=user, action=AuditEvent.Action.DENIED, section=section, detail=detail)
    return PermissionDenied(message)


def _last_month(request: HttpRequest) -> tuple[dt.date, dt.date]:
    facility = getattr(request, "facility", None)
    today = timezone.localdate(timezone=facility.zone) if facility else timezone.localdate()
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _add_errors(form: RangeForm, error: ValidationError) -> None:
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


# --- the TEDS page -----------------------------------------------------------------------------


def _teds_context(request: HttpRequest, user: User, form: TedsForm) -> dict[str, Any]:
    context: dict[str, Any] = {"form": form, "validation": None, "page": None}
    if not form.is_bound or not form.is_valid():
        return context
    try:
        params = service.clean_params(user, form.params(), program_allowed=False)
    except ValidationError as error:
        _add_errors(form, error)
        return context
    kind_key = form.cleaned_data["kind"]
    validation = teds_file.validate(
        service.TEDS_KINDS[kind_key], params.facility_ids, params.start, params.end
    )
    page = Paginator(validation.problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    shown: list[teds_file.Problem] = list(page.object_list)
    record_list(
        actor=user,
        patients=teds_file.patient_refs({p.patient_id: p.facility_id for p in shown}),
        section=TEDS_SECTION,
        detail={
            "kind": kind_key,
            "start": params.start.isoformat(),
            "end": params.end.isoformat(),
            "page": page.number,
        },
    )
    query = {k: v for k, v in request.GET.items() if k != "page"}
    context.update(
        {
            "validation": validation,
            "page": page,
            "problems": shown,
            "kind": kind_key,
            "params": params,
            "facility_value": form.cleaned_data.get("facility") or "",
            "query": urlencode(query),
            "required": [
                teds_file.WORDS[c]
                for c in (teds_file.REQUIRED_A if kind_key == "teds-a" else teds_file.REQUIRED_D)
            ],
        }
    )
    return context


@login_required
@require_safe
def teds(request: HttpRequest) -> HttpResponse:
    """Choose the records and the dates; see what is missing; export in the background."""
    user = _user(request)
    if not user.can(service.TEDS_PERMISSION):
        raise _refuse(user, TEDS_SECTION, TEDS_REFUSED)
    start, end = _last_month(request)
    bound = "start" in request.GET or "end" in request.GET
    form = TedsForm(
        request.GET if bound else None,
        user=user,
        initial={"kind": "teds-a", "start": start, "end": end},
    )
    context = _teds_context(request, user, form)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reports/teds.html", context, status=status)


# --- starting, following and downloading an export ----------------------------------------------


@login_required
@require_POST
def start(request: HttpRequest, kind: str) -> HttpResponse:
    user = _user(request)
    if not service.is_known(kind):
        raise Http404("No such export.")
    if not service.may_start(user, kind):
        section = TEDS_SECTION if kind in service.TEDS_KINDS else service.SECTION
        raise _refuse(user, section, EXPORTS_REFUSED, kind=kind)
    is_teds = kind in service.TEDS_KINDS
    form: RangeForm
    if is_teds:
        data = request.POST.copy()
        data["kind"] = kind
        form = TedsForm(data, user=user)
    else:
        form = ExportStartForm(request.POST, user=user)
    if form.is_valid():
        try:
            export = service.start_export(actor=user, kind=kind, params=form.params())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("reports:export", token=export.token)
    if is_teds:
        context: dict[str, Any] = {"form": form, "validation": None, "page": None}
        return render(request, "reports/teds.html", context, status=400)
    context = {
        "exports": service.exports_of(user)[:RECENT_EXPORTS],
        "start_form": form,
        "report": service.report_for(kind),
        "keep_days": settings.OPENIOP_EXPORTS_KEEP_DAYS,
        "may_teds": user.can(service.TEDS_PERMISSION),
    }
    return render(request, "reports/exports.html", context, status=400)


@login_required
@require_safe
def exports(request: HttpRequest) -> HttpResponse:
    """My recent exports (nobody else's), newest first."""
    user = _user(request)
    if not service.may_use_exports(user):
        raise _refuse(user, service.SECTION, EXPORTS_REFUSED)
    context = {
        "exports": list(service.exports_of(user)[:RECENT_EXPORTS]),
        "keep_days": settings.OPENIOP_EXPORTS_KEEP_DAYS,
        "may_teds": user.can(service.TEDS_PERMISSION),
    }
    return render(request, "reports/exports.html", context)


@login_required
@require_safe
def export(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The export's page; htmx asks for the progress part every second while it runs."""
    user = _user(request)
    item = service.export_for(user, token)
    context = {"export": item, "keep_days": settings.OPENIOP_EXPORTS_KEEP_DAYS}
    if getattr(request, "htmx", False):
        return render(request, "reports/_export_progress.html", context)
    return render(request, "reports/export.html", context)


@login_required
@require_safe
def download(request: HttpRequest, token: uuid.UUID) -> FileResponse:
    user = _user(request)
    return service.download(actor=user, export=service.export_for(user, token))
