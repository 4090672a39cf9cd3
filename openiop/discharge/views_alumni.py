"""Follow-ups, the alumni due list, alumni events, settings (being written: issue 7)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def due(request: HttpRequest) -> HttpResponse:
    raise Http404


def followup(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def events(request: HttpRequest) -> HttpResponse:
    raise Http404


def event_new(request: HttpRequest) -> HttpResponse:
    raise Http404


def event(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def settings_page(request: HttpRequest) -> HttpResponse:
    raise Http404
