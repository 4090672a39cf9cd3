"""The admissions panel on the home page: help requests waiting, and those overdue."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.core.home import HomePanel, register_home_panel
from openiop.intake import rules
from openiop.intake.models import Stage
from openiop.intake.selectors import overdue_q, visible_inquiries, with_contact_flag


@register_home_panel
def help_requests(user: User, facility: Facility) -> HomePanel | None:
    if not user.can("intake.view_inquiry"):
        return None
    today = timezone.localdate(timezone=facility.zone)
    figures = with_contact_flag(
        visible_inquiries(user).filter(facility=facility, stage__in=rules.WORKING)
    ).aggregate(
        open=Count("pk"),
        new=Count("pk", filter=Q(stage=Stage.NEW)),
        overdue=Count("pk", filter=overdue_q(facility, today)),
    )
    return HomePanel("intake/_home_panel.html", figures, order=15)
