"""The Discharge chart tab: readiness, the planned step-down, transfers (being written: issue 7)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    raise Http404


def plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    raise Http404


def transfer(request: HttpRequest, patient_id: int) -> HttpResponse:
    raise Http404
