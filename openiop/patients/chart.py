"""What every chart page shows above its own content: the header and the chart's tabs.

Capabilities above patients (admissions, consents…) add facts to the header by registering a
provider; each provider costs at most one or two queries, so every chart page stays constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils import timezone

from openiop.accounts.models import User
from openiop.patients import rules
from openiop.patients.alerts import open_alerts
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess

HeaderProvider = Callable[[User, Patient], Mapping[str, Any]]
_providers: list[HeaderProvider] = []


def register_header_provider(provider: HeaderProvider) -> HeaderProvider:
    """Add facts to the chart header, e.g. ``{"episode": …}`` or ``{"consents": …}``."""
    _providers.append(provider)
    return provider


def chart_context(user: User, access: ChartAccess, *, tab: str = "summary") -> dict[str, Any]:
    """The context every chart page passes to ``patients/_header.html``."""
    patient = access.patient
    today = timezone.localdate(timezone=patient.facility.zone)
    context: dict[str, Any] = {
        "patient": patient,
        "access": access,
        "age": rules.age_on(patient.date_of_birth, today),
        "today": today,
        "chart_tab": tab,
        "open_alerts": list(open_alerts(patient).select_related("raised_by")),
        "may_acknowledge_alerts": user.is_clinical,
        "show_sensitive": user.is_clinical,
        "may_edit": user.may_register_patients,
    }
    for provider in _providers:
        context.update(provider(user, patient))
    return context
