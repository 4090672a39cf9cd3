"""Who may do what with treatment plans (SPEC §1, §10 minimum necessary).

- The clinical team (CLINICAL_ROLES) writes plans, collects the patient's signature and
  records reviews; billing reads them (utilization reviewers ask for the plan and the
  relapse-prevention plan), as do administrators. Everyone else is refused (403);
  out-of-scope patients answer 404 (chart_access).
- Clinicians, supervisors, directors and medical staff sign as the clinician; a clinical
  supervisor or the clinical director co-signs for a clinician who needs it.
- The plan library is the clinical director's and the administrator's to edit.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

READER_ROLES = CLINICAL_ROLES | {Role.BILLING, Role.ADMINISTRATOR}
WRITER_ROLES = CLINICAL_ROLES
CLINICIAN_SIGNER_ROLES = frozenset(
    {Role.CLINICIAN, Role.CLINICAL_SUPERVISOR, Role.CLINICAL_DIRECTOR, Role.MEDICAL}
)
SUPERVISOR_SIGNER_ROLES = frozenset({Role.CLINICAL_SUPERVISOR, Role.CLINICAL_DIRECTOR})
LIBRARY_EDITOR_ROLES = frozenset({Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR})

reads_plans = _role_in("reads_plans", READER_ROLES)
writes_plans = _role_in("writes_plans", WRITER_ROLES)
signs_as_clinician = _role_in("signs_plans_as_clinician", CLINICIAN_SIGNER_ROLES)
signs_as_supervisor = _role_in("signs_plans_as_supervisor", SUPERVISOR_SIGNER_ROLES)
edits_library = _role_in("edits_plan_library", LIBRARY_EDITOR_ROLES)

rules.add_perm("plans.view_treatmentplan", reads_plans)
rules.add_perm("plans.change_treatmentplan", writes_plans)
rules.add_perm("plans.sign_as_clinician", signs_as_clinician)
rules.add_perm("plans.sign_as_supervisor", signs_as_supervisor)
rules.add_perm("plans.change_libraryproblem", edits_library)
rules.add_perm("plans.view_libraryproblem", edits_library | writes_plans)
