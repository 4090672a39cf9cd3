"""Plan reviews, phase changes and the relapse-prevention plan with its pocket card."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


review = _todo
review_detail = _todo
phase = _todo
relapse_prevention = _todo
pocket_card = _todo
