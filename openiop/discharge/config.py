"""An organization's continuing-care settings, read by the discharge and the alumni pages."""

from __future__ import annotations

from openiop.discharge import rules
from openiop.discharge.models import DischargeSettings

__all__ = ["followup_days_of", "settings_for"]


def settings_for(organization_id: int | None) -> DischargeSettings:
    """The organization's discharge settings, or the defaults (unsaved) when none were chosen."""
    found = (
        DischargeSettings.objects.filter(organization_id=organization_id).first()
        if organization_id is not None
        else None
    )
    return found or DischargeSettings(organization_id=organization_id)  # type: ignore[misc]


def followup_days_of(found: DischargeSettings) -> list[int]:
    """The follow-up days to schedule; the defaults when the stored list is not usable (the
    settings page validates it, but a row written by hand must not stop a discharge)."""
    days = found.followup_days
    usable = isinstance(days, list) and all(isinstance(d, int) for d in days)
    if usable and rules.followup_days_error(days) is None:
        return sorted(days)
    return list(rules.DEFAULT_FOLLOWUP_DAYS)
