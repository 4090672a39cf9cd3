"""Who may do what with clinical notes (SPEC §1, §10 minimum necessary).

The clinical team writes and reads notes for the patients they may see. Co-signing is for
clinical supervisors and the clinical director; the organization's note format and flag
times are set by the clinical director or an administrator.
"""

from __future__ import annotations

import rules

from openiop.accounts.permissions import _role_in
from openiop.accounts.roles import CLINICAL_ROLES, Role

writes_notes = _role_in("writes_notes", CLINICAL_ROLES)
cosigns_notes = _role_in(
    "cosigns_notes", frozenset({Role.CLINICAL_SUPERVISOR, Role.CLINICAL_DIRECTOR})
)
sets_note_format = _role_in(
    "sets_note_format", frozenset({Role.CLINICAL_DIRECTOR, Role.ADMINISTRATOR})
)

rules.add_perm("notes.add_note", writes_notes)
rules.add_perm("notes.view_note", writes_notes)
rules.add_perm("notes.cosign_note", cosigns_notes)
rules.add_perm("notes.change_notesettings", sets_note_format)
