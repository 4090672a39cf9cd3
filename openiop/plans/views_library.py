"""The organization's plan library: list, edit, restore the standard entries."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


library_list = _todo
library_edit = _todo
library_restore = _todo
