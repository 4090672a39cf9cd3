"""Staff roles and what each may see (SPEC §1, §10 minimum necessary)."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    CLINICAL_DIRECTOR = "clinical_director", "Clinical director"
    CLINICIAN = "clinician", "Clinician (counselor/therapist)"
    CLINICAL_SUPERVISOR = "clinical_supervisor", "Clinical supervisor"
    MEDICAL = "medical", "Medical staff"
    CASE_MANAGER = "case_manager", "Case manager"
    ADMISSIONS = "admissions", "Admissions"
    BILLING = "billing", "Billing"
    FRONT_DESK = "front_desk", "Front desk"
    AUDITOR = "auditor", "Auditor"
    ALUMNI_COORDINATOR = "alumni_coordinator", "Alumni coordinator"


# Roles that see every patient of their facilities.
FACILITY_WIDE_ROLES = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.CLINICAL_DIRECTOR,
        Role.CLINICAL_SUPERVISOR,
        Role.MEDICAL,
        Role.ADMISSIONS,
        Role.BILLING,
        Role.FRONT_DESK,
        Role.ALUMNI_COORDINATOR,
    }
)
# Roles that see only the patients they have a care relationship with.
CASELOAD_ROLES = frozenset({Role.CLINICIAN, Role.CASE_MANAGER})
# Roles that never open a chart (the auditor reads the audit trail, nothing clinical).
NO_CHART_ROLES = frozenset({Role.AUDITOR})

# Members of the clinical team: they may see sensitive, opt-in attributes (SPEC §7).
CLINICAL_ROLES = frozenset(
    {
        Role.CLINICAL_DIRECTOR,
        Role.CLINICIAN,
        Role.CLINICAL_SUPERVISOR,
        Role.MEDICAL,
        Role.CASE_MANAGER,
    }
)
# Who may register and edit demographics.
REGISTRATION_ROLES = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.CLINICAL_DIRECTOR,
        Role.CLINICIAN,
        Role.CLINICAL_SUPERVISOR,
        Role.CASE_MANAGER,
        Role.ADMISSIONS,
        Role.FRONT_DESK,
    }
)
# Who may break the glass to reach a chart outside their scope (an emergency).
BREAK_GLASS_ROLES = frozenset(
    {
        Role.CLINICIAN,
        Role.CLINICAL_SUPERVISOR,
        Role.MEDICAL,
        Role.CASE_MANAGER,
        Role.CLINICAL_DIRECTOR,
    }
)
# Who reads the audit trail.
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.ADMINISTRATOR})
# Who reviews break-the-glass access.
BREAK_GLASS_REVIEW_ROLES = frozenset({Role.CLINICAL_DIRECTOR, Role.AUDITOR, Role.ADMINISTRATOR})
