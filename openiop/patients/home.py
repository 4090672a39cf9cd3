"""The patients' panel on the home page: open clinical alerts on the user's patients."""

from __future__ import annotations

from openiop.accounts.models import Facility, User
from openiop.core.home import HomePanel, register_home_panel
from openiop.patients.alerts import open_alerts_for


@register_home_panel
def clinical_alerts(user: User, facility: Facility) -> HomePanel | None:
    alerts = open_alerts_for(user)
    if not alerts:
        return None
    return HomePanel("patients/_home_alerts.html", {"alerts": alerts}, order=0, wide=True)
