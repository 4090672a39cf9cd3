from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from openiop.accounts import selectors, services
from openiop.accounts.models import User


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    staff = selectors.staff_for(user, facility=request.facility)  # type: ignore[attr-defined]
    return render(request, "accounts/staff_list.html", {"staff": staff})


@login_required
def program_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    programs = selectors.programs_for(user, facility=request.facility)  # type: ignore[attr-defined]
    return render(request, "accounts/program_list.html", {"programs": programs})


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if services.revoke_api_token(actor=user):
                messages.success(request, "Your API token no longer works.")
            return redirect("accounts:api_token")
        new_key = services.issue_api_token(actor=user).key
    has_token = Token.objects.filter(user=user).exists()
    return render(request, "accounts/api_token.html", {"new_key": new_key, "has_token": has_token})
