"""Who gives instruments and reads their results (SPEC §10 minimum necessary).

- The clinical team (CLINICAL_ROLES) and admissions (who screen at intake) give instruments,
  read results, and mark a wrong entry as entered in error or correct it.
- Everyone else (billing, front desk, alumni coordinators, administrators) is refused with a
  plain 403 on the Measures tab; the auditor opens no chart at all.
- Schedules (which instruments an episode repeats, and how often): everyone who reads results
  sees them; the clinical team starts, changes and stops them. The facility's list of
  instruments due is for the clinical team.
Which *patients* is the scoped selectors' job (chart_access, visible_patients): 404 outside.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

MEASURES_ROLES = CLINICAL_ROLES | {Role.ADMISSIONS}

gives_instruments = _role_in("gives_instruments", MEASURES_ROLES)
clinical_team = _role_in("measures_clinical_team", CLINICAL_ROLES)

rules.add_perm("measures.view_administration", gives_instruments)
rules.add_perm("measures.add_administration", gives_instruments)
rules.add_perm("measures.mark_entered_in_error", gives_instruments)
rules.add_perm("measures.view_schedule", gives_instruments)
rules.add_perm("measures.change_schedule", clinical_team)
rules.add_perm("measures.view_due", clinical_team)
