"""Who may read program reports and run exports (SPEC §1, §10 minimum necessary).

Reports are aggregates over a user's facilities. The clinical director, clinical supervisors
and administrators read every report and run the TEDS export; the alumni coordinator reads
the alumni outcomes. Lists that name patients or staff (caseload, overdue reviews, unsigned
notes) stay with the clinical director, supervisors and administrators.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import Role

REPORT_ROLES = frozenset({Role.CLINICAL_DIRECTOR, Role.CLINICAL_SUPERVISOR, Role.ADMINISTRATOR})

reads_reports = _role_in("reads_reports", REPORT_ROLES)
reads_alumni_outcomes = _role_in("reads_alumni_outcomes", REPORT_ROLES | {Role.ALUMNI_COORDINATOR})
exports_teds = _role_in("exports_teds", frozenset({Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR}))

rules.add_perm("reports.view_reports", reads_reports)
rules.add_perm("reports.view_alumni_outcomes", reads_alumni_outcomes)
rules.add_perm("reports.export_teds", exports_teds)
