"""Report pages, the director's dashboard and CSV downloads (being written: issue 7)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    raise Http404


def index(request: HttpRequest) -> HttpResponse:
    raise Http404


def report(request: HttpRequest, key: str) -> HttpResponse:
    raise Http404


def report_csv(request: HttpRequest, key: str) -> HttpResponse:
    raise Http404
