"""Who works the admissions pipeline (an inquiry is not yet a chart: minimum necessary)."""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import Role

# See and work every inquiry of their facilities.
PIPELINE_ROLES = frozenset(
    {
        Role.ADMISSIONS,
        Role.FRONT_DESK,
        Role.CLINICAL_DIRECTOR,
        Role.CLINICAL_SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)
# Clinicians see the inquiries they own (for example to screen them).
OWNER_ROLES = frozenset({Role.CLINICIAN, Role.MEDICAL})
# Who may screen for IOP fit.
SCREENING_ROLES = frozenset(
    {
        Role.ADMISSIONS,
        Role.CLINICAL_DIRECTOR,
        Role.CLINICAL_SUPERVISOR,
        Role.CLINICIAN,
        Role.MEDICAL,
    }
)

works_pipeline = _role_in("works_pipeline", PIPELINE_ROLES)
owns_inquiries = _role_in("owns_inquiries", OWNER_ROLES)
screens = _role_in("screens", SCREENING_ROLES)

rules.add_perm("intake.view_inquiry", works_pipeline | owns_inquiries)
rules.add_perm("intake.work_pipeline", works_pipeline)
rules.add_perm("intake.screen", screens)
