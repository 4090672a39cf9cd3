"""Discharging a patient, the summary, its PDF and referrals (being written: issue 7)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def new(request: HttpRequest, patient_id: int) -> HttpResponse:
    raise Http404


def summary(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def pdf(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def referrals(request: HttpRequest, patient_id: int) -> HttpResponse:
    raise Http404


def referral(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
