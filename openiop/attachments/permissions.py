"""Who may do what with a chart's documents (SPEC §1, §10 minimum necessary).

- Whoever registers patients or treats them adds documents: the clinical team, admissions,
  the front desk (scanned insurance cards, referral letters, court papers) and administrators.
- The clinical team, admissions and administrators open every document of the charts they
  may see; the front desk opens only the documents it added itself.
- The clinical team and administrators remove a document (with the reason); anyone who
  added a document may remove it too (a scan put in the wrong chart).
- Billing, the alumni coordinator and the auditor do not see documents (the auditor reads
  who opened them in the audit trail).
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, REGISTRATION_ROLES, Role

UPLOAD_ROLES = frozenset(CLINICAL_ROLES | REGISTRATION_ROLES)
READ_ALL_ROLES = frozenset(CLINICAL_ROLES | {Role.ADMISSIONS, Role.ADMINISTRATOR})
REMOVE_ROLES = frozenset(CLINICAL_ROLES | {Role.ADMINISTRATOR})

adds_documents = _role_in("adds_documents", UPLOAD_ROLES)
reads_every_document = _role_in("reads_every_document", READ_ALL_ROLES)
removes_documents = _role_in("removes_documents", REMOVE_ROLES)

rules.add_perm("attachments.add_attachment", adds_documents)
rules.add_perm("attachments.view_attachment", adds_documents)
rules.add_perm("attachments.view_all_attachments", reads_every_document)
rules.add_perm("attachments.remove_attachment", removes_documents)
