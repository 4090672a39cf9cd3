"""New versions, signatures, the version list and side-by-side comparison."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


new_version = _todo
sign = _todo
print_version = _todo
versions = _todo
compare = _todo
