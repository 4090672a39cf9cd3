"""The instruments-due panel on the home page: how many repeated instruments are due today or
overdue for the user's caseload (the facility for the clinical leads), with the link to the
list. Counts only — no names, so nothing here reads a patient's record. Constant queries."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.core.home import HomePanel, register_home_panel
from openiop.measures import selectors, services


@register_home_panel
def instruments_due(user: User, facility: Facility) -> HomePanel | None:
    if not user.can("measures.view_due"):
        return None
    today = timezone.localdate(timezone=facility.zone)
    services.ensure_default_schedules_for(
        episodes=selectors.open_episodes_in_scope(user, facility), actor=user
    )
    counts = (
        selectors.due_list(user, facility, today)
        .order_by()
        .aggregate(
            due=Count("pk"),
            overdue=Count("pk", filter=Q(next_due__lt=today)),
            people=Count("episode__patient", distinct=True),
        )
    )
    return HomePanel(
        "measures/_home_panel.html",
        {**counts, "caseload_only": not user.sees_whole_facility},
        order=32,
    )
