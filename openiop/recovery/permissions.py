"""Who may do what with recovery tracking (SPEC §1, §8, §10 minimum necessary).

Drug tests, prescriptions, drug-test orders, mutual-help meetings, relapse events and the
sobriety date are clinical information about substance use (42 CFR Part 2): the clinical
team (clinicians, medical staff, case managers, supervisors and the clinical director)
records and reads them, for the patients they may see. Everyone else (admissions, billing,
front desk, alumni coordinators, administrators) is refused with a 403; the auditor opens
no chart at all. Which *patients* is the scoped selectors' job: 404 outside.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES

RECOVERY_ROLES = CLINICAL_ROLES

records_drug_tests = _role_in("records_drug_tests", RECOVERY_ROLES)
reads_recovery = _role_in("reads_recovery", RECOVERY_ROLES)

rules.add_perm("recovery.add_drugtest", records_drug_tests)
rules.add_perm("recovery.view_drugtest", reads_recovery)
rules.add_perm("recovery.change_prescription", records_drug_tests)
rules.add_perm("recovery.view_recovery", reads_recovery)
rules.add_perm("recovery.add_order", records_drug_tests)
rules.add_perm("recovery.add_response", records_drug_tests)
rules.add_perm("recovery.import_results", records_drug_tests)
rules.add_perm("recovery.add_meeting", records_drug_tests)
rules.add_perm("recovery.add_relapse", records_drug_tests)
rules.add_perm("recovery.change_sobriety", records_drug_tests)
