"""Who works the admissions pipeline (an inquiry is not yet a chart: minimum necessary).

- Pipeline roles (admissions, front desk, clinical director and supervisor, administrator)
  see and work every inquiry of their facilities: log phone inquiries, assign owners, move
  stages, schedule assessments, register the person as a patient.
- Clinicians and medical staff see the inquiries they own, log contact attempts on them and
  screen them.
- Screening answers (C-SSRS, withdrawal scores) are read by the screening roles only.
- Everyone else (billing, case managers, alumni coordinators, the auditor) sees no inquiry.
Which *inquiries* is the scoped selector's job (openiop.intake.selectors.visible_inquiries).
"""

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
rules.add_perm("intake.log_contact", works_pipeline | owns_inquiries)
rules.add_perm("intake.screen", screens)
rules.add_perm("intake.view_screening", screens)
