"""The Treatment plan tab and the draft editor."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


chart = _todo
start = _todo
version_detail = _todo
intensity = _todo
problem_add = _todo
library_pick = _todo
library_add = _todo
item_edit = _todo
item_add = _todo
item_remove = _todo
discard = _todo
