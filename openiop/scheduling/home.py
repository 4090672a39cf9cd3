"""The attendance panel on the home page: who has not come for a week, and how many
were below the program's minimum last week (the user's caseload, or the facility for the
clinical leads). A constant number of queries, whatever the number of patients; the
names shown are audited like the at-risk page."""

from __future__ import annotations

import datetime as dt

from openiop.accounts.models import Facility, User
from openiop.audit.services import record_list
from openiop.core.home import HomePanel, register_home_panel
from openiop.scheduling import rules, selectors

SHOWN = 8


@register_home_panel
def attendance_watch(user: User, facility: Facility) -> HomePanel | None:
    if not (user.is_clinical and user.can("scheduling.view_dose")):
        return None
    today = selectors.today_at(facility)
    risk = selectors.at_risk(user, facility, today)
    if risk:  # the names shown are a read of those patients' records
        record_list(
            actor=user,
            patients=[r.episode.patient for r in risk[:SHOWN]],
            facility_id=facility.pk,
            section="at-risk list (home page)",
            detail={"on": today.isoformat()},
        )
    last_week = rules.week_start(today) - dt.timedelta(days=7)
    counts = selectors.week_counts(selectors.facility_week_query(user, facility, last_week))
    below = counts[rules.WeekStatus.BELOW]
    return HomePanel(
        "scheduling/_home_panel.html",
        {
            "at_risk": risk[:SHOWN],
            "more": max(len(risk) - SHOWN, 0),
            "below": below,
            "last_week": last_week,
            "days": rules.AT_RISK_DAYS,
            "caseload_only": not user.sees_whole_facility,
        },
        order=30,
    )
