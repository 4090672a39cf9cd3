"""Who may do what with discharge and continuing care (SPEC §1, §10 minimum necessary).

The clinical team plans and records discharges, referrals and level-of-care changes for the
patients they may see; the clinical director and supervisors too. Follow-ups and alumni
events are the alumni coordinator's daily work (with the clinical team); they see the
discharge's step-down and contact details, not the clinical summary. Settings belong to the
clinical director and administrators. Which *patients* is the scoped selectors' job: 404
outside.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

discharges = _role_in("discharges", CLINICAL_ROLES)
follows_up = _role_in("follows_up", CLINICAL_ROLES | {Role.ALUMNI_COORDINATOR})
sets_discharge_rules = _role_in(
    "sets_discharge_rules", frozenset({Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR})
)

rules.add_perm("discharge.view_discharge", discharges)
rules.add_perm("discharge.add_discharge", discharges)
rules.add_perm("discharge.change_dischargeplan", discharges)
rules.add_perm("discharge.add_referral", discharges)
rules.add_perm("discharge.transfer", discharges)
rules.add_perm("discharge.view_followup", follows_up)
rules.add_perm("discharge.change_followup", follows_up)
rules.add_perm("discharge.change_alumnievent", follows_up)
rules.add_perm("discharge.change_dischargesettings", sets_discharge_rules)
