"""Permissions as `rules` predicates: one place that says which role may do what.

Checked with ``rules.has_perm`` (not ``user.has_perm``) so that a superuser flag, which only
opens the settings pages, never widens access to patient information.
Which *patients* a user may see is the scoped selectors' job (openiop.patients.selectors).
"""

from __future__ import annotations

import rules

from openiop.accounts.roles import (
    AUDIT_ROLES,
    BREAK_GLASS_REVIEW_ROLES,
    BREAK_GLASS_ROLES,
    CLINICAL_ROLES,
    FACILITY_WIDE_ROLES,
    NO_CHART_ROLES,
    REGISTRATION_ROLES,
    Role,
)


def _role_in(name: str, roles: frozenset[str]) -> rules.Predicate:
    @rules.predicate(name=name)
    def check(user: object) -> bool:
        return bool(
            getattr(user, "is_authenticated", False)
            and getattr(user, "is_active", False)
            and getattr(user, "role", None) in roles
        )

    return check


is_clinical = _role_in("is_clinical", CLINICAL_ROLES)
registers_patients = _role_in("registers_patients", REGISTRATION_ROLES)
may_break_glass = _role_in("may_break_glass", BREAK_GLASS_ROLES)
reviews_break_glass = _role_in("reviews_break_glass", BREAK_GLASS_REVIEW_ROLES)
reads_audit_trail = _role_in("reads_audit_trail", AUDIT_ROLES)
is_administrator = _role_in("is_administrator", frozenset({Role.ADMINISTRATOR}))
opens_charts = _role_in("opens_charts", frozenset(Role.values) - NO_CHART_ROLES)
facility_wide_clinical = _role_in("facility_wide_clinical", FACILITY_WIDE_ROLES & CLINICAL_ROLES)
is_admissions = _role_in("is_admissions", frozenset({Role.ADMISSIONS}))

rules.add_perm("patients.view_patient", opens_charts)
rules.add_perm("patients.add_patient", registers_patients)
rules.add_perm("patients.change_patient", registers_patients)
rules.add_perm("patients.delete_patient", is_administrator)
rules.add_perm("patients.view_sensitive", is_clinical)
rules.add_perm("patients.break_glass", may_break_glass)
rules.add_perm("patients.review_break_glass", reviews_break_glass)
rules.add_perm(
    "patients.assign_care_team", facility_wide_clinical | is_administrator | is_admissions
)
rules.add_perm("audit.view_auditevent", reads_audit_trail)
