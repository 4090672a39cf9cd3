from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from openiop.patients.views import chart_tab_placeholder


@login_required
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    return chart_tab_placeholder(request, pk, tab="admissions", title="admissions".capitalize())
