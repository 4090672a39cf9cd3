"""Background exports with progress, and the TEDS export page (being written: issue 7)."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse


def exports(request: HttpRequest) -> HttpResponse:
    raise Http404


def start(request: HttpRequest, kind: str) -> HttpResponse:
    raise Http404


def export(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    raise Http404


def download(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    raise Http404


def teds(request: HttpRequest) -> HttpResponse:
    raise Http404
