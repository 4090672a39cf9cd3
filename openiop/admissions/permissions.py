"""Who admits (opens an episode of care)."""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

ADMISSION_ROLES = frozenset(
    {
        Role.ADMISSIONS,
        Role.CLINICAL_DIRECTOR,
        Role.CLINICAL_SUPERVISOR,
        Role.CLINICIAN,
        Role.ADMINISTRATOR,
    }
)
# Who may be the primary clinician of an episode.
PRIMARY_CLINICIAN_ROLES = frozenset(
    {Role.CLINICIAN, Role.CLINICAL_SUPERVISOR, Role.CLINICAL_DIRECTOR, Role.MEDICAL}
)

admits = _role_in("admits", ADMISSION_ROLES)
rules.add_perm("admissions.admit", admits)
rules.add_perm("admissions.change_episode", admits)

# Phase changes are a clinical decision (SPEC §4).
changes_phase = _role_in("changes_phase", CLINICAL_ROLES)
rules.add_perm("admissions.change_phase", changes_phase)
