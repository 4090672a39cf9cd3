"""The facility's drug-test collections due today (or on a past day): who is due, what
specimen and whether it is observed, what is already recorded; from here staff record
the test or mark the day not collected / refused.

Random days are never shown ahead of time: a future day is refused, so nobody can learn
(or tell a patient) when the next random collection falls.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from openiop.accounts.models import Facility, User
from openiop.recovery import selectors
from openiop.recovery.forms import NotCollectedForm
from openiop.scheduling.rules import parse_day


@login_required
@require_safe
def due(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    selectors.require_reader(user)
    facility: Facility | None = getattr(request, "facility", None)
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    today = timezone.localdate(timezone=facility.zone)
    day = parse_day(request.GET.get("day"), today)
    future = day > today
    if future:
        day = today
    rows = selectors.due_on(user, facility, day)
    context = {
        "rows": rows,
        "day": day,
        "today": today,
        "future_refused": future,
        "facility": facility,
        "open_count": sum(1 for r in rows if r.collection is None),
        "form": NotCollectedForm(),
        "may_record": user.can("recovery.add_drugtest"),
        "may_mark": user.can("recovery.add_order"),
    }
    with timezone.override(facility.zone):
        return render(request, "recovery/due.html", context)
