"""Who may do what with recovery tracking (SPEC §1, §8, §10 minimum necessary).

Drug tests and prescriptions are clinical information: the clinical team (clinicians,
medical staff, case managers, supervisors and the clinical director) records and reads
them, for the patients they may see.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES

records_drug_tests = _role_in("records_drug_tests", CLINICAL_ROLES)

rules.add_perm("recovery.add_drugtest", records_drug_tests)
rules.add_perm("recovery.view_drugtest", records_drug_tests)
rules.add_perm("recovery.change_prescription", records_drug_tests)
