"""The admissions panel on the home page: how many are in treatment, and before day 90."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.rules import MINIMUM_STAY_DAYS
from openiop.admissions.selectors import visible_episodes
from openiop.core.home import HomePanel, register_home_panel


@register_home_panel
def in_treatment(user: User, facility: Facility) -> HomePanel | None:
    if not user.may_open_charts:
        return None
    today = timezone.localdate(timezone=facility.zone)
    # Admitted on or after this date: still before day 90.
    day_90_start = today - dt.timedelta(days=MINIMUM_STAY_DAYS - 1)
    figures = (
        visible_episodes(user)
        .filter(facility=facility, discharge_date__isnull=True)
        .aggregate(
            open=Count("pk"),
            before_90=Count("pk", filter=Q(admission_date__gt=day_90_start)),
            this_week=Count("pk", filter=Q(admission_date__gt=today - dt.timedelta(days=7))),
        )
    )
    return HomePanel("admissions/_home_panel.html", figures, order=20)
