from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.models import User
from openiop.core.home import panels_for
from openiop.patients import selectors as patient_selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    facility = request.facility  # type: ignore[attr-defined]
    context: dict[str, object] = {"facility": facility}
    if user.reads_audit_trail and not user.may_open_charts:
        return redirect("audit:log")
    if facility is not None:
        context["census"] = patient_selectors.facility_census(user, facility)
        if user.sees_caseload_only or user.is_clinical:
            context["caseload"] = list(patient_selectors.my_caseload(user, facility)[:25])
        context["recent"] = patient_selectors.recently_opened(user)
        context["panels"] = panels_for(user, facility)
    if user.reviews_break_glass:
        context["break_glass_unreviewed"] = (
            patient_selectors.break_glass_for_review(user).filter(reviewed_at__isnull=True).count()
        )
    return render(request, "core/home.html", context)


@require_POST
@login_required
def switch_facility(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("facility")
    allowed = {str(f.pk): f for f in request.user_facilities}  # type: ignore[attr-defined]
    if wanted in allowed:
        request.session["facility_id"] = allowed[wanted].pk
        messages.success(request, f"You are now working in {allowed[wanted].name}.")
    else:
        messages.error(request, "Choose one of the facilities you work at.")
    target = request.POST.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return redirect(target)


@login_required
def mfa_required(request: HttpRequest) -> HttpResponse:
    return render(request, "core/mfa_required.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "demo": settings.OPENIOP_DEMO})


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return render(request, "403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side."}, status=500)
    # No context processors: the failure may be in them.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
