"""The treatment-plan panel on the home page: plans to write, sign and review."""

from __future__ import annotations

from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.core.home import HomePanel, register_home_panel
from openiop.plans.selectors import reviews_due


@register_home_panel
def plans_due(user: User, facility: Facility) -> HomePanel | None:
    if not user.can("plans.view_treatmentplan"):
        return None
    today = timezone.localdate(timezone=facility.zone)
    rows = reviews_due(user, facility, today)
    return HomePanel(
        "plans/_home_panel.html",
        {"rows": rows, "today": today, "by_clinician": user.sees_whole_facility},
        order=25,
        wide=True,
    )
