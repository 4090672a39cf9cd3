"""Who may do what with assessments (SPEC §7, §10 minimum necessary).

- The clinical team (CLINICAL_ROLES) writes, signs and reads everything, trauma included.
- Admissions reads the ASAM ratings, recommendation and final level (it needs the level to
  admit) and sees that a biopsychosocial assessment exists and is signed, but not its
  narrative: no rationales, no history, no trauma.
- Everyone else is refused (403); out-of-scope patients answer 404 (chart_access).
- The level-of-care table is the clinical director's and the administrator's.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

READER_ROLES = CLINICAL_ROLES | {Role.ADMISSIONS}
TABLE_EDITOR_ROLES = frozenset({Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR})

writes_assessments = _role_in("writes_assessments", CLINICAL_ROLES)
reads_assessments = _role_in("reads_assessments", READER_ROLES)
edits_asam_table = _role_in("edits_asam_table", TABLE_EDITOR_ROLES)

rules.add_perm("assessments.view_assessment", reads_assessments)
rules.add_perm("assessments.view_narrative", writes_assessments)
rules.add_perm("assessments.change_assessment", writes_assessments)
rules.add_perm("assessments.sign_assessment", writes_assessments)
rules.add_perm("assessments.change_asamrule", edits_asam_table)
rules.add_perm("assessments.view_asamrule", edits_asam_table | reads_assessments)
