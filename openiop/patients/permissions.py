"""Who may see and manage the support system, consents and disclosures (minimum necessary).

- Clinical roles, admissions and administrators manage the support system and consents.
- Front desk sees the emergency contacts only (names, relationship and phone).
- Billing sees consents (claims need the TPO consent) but not the support system.
- Releasing records to an outside party: clinical roles, admissions, administrators and
  billing — billing only "billing and insurance information".
Which *patients* is the scoped selectors' job (openiop.patients.selectors).
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

MANAGING_ROLES = CLINICAL_ROLES | {Role.ADMISSIONS, Role.ADMINISTRATOR}
RELEASING_ROLES = MANAGING_ROLES | {Role.BILLING}
# Roles that release only this category (consent_rules.CATEGORIES).
RELEASE_LIMITS: dict[str, frozenset[str]] = {Role.BILLING: frozenset({"billing"})}

manages_support = _role_in("manages_support", frozenset(MANAGING_ROLES))
sees_emergency_contacts = _role_in(
    "sees_emergency_contacts", frozenset(MANAGING_ROLES | {Role.FRONT_DESK})
)
sees_consents = _role_in("sees_consents", frozenset(MANAGING_ROLES | {Role.BILLING}))
releases_records = _role_in("releases_records", frozenset(RELEASING_ROLES))

rules.add_perm("patients.view_support_contacts", manages_support)
rules.add_perm("patients.view_emergency_contacts", sees_emergency_contacts)
rules.add_perm("patients.manage_support", manages_support)
rules.add_perm("patients.view_consents", sees_consents)
rules.add_perm("patients.manage_consents", manages_support)
rules.add_perm("patients.release_records", releases_records)
