"""Building POST bodies for the patient form and its emergency-contact formset."""

from __future__ import annotations

from typing import Any

from openiop.patients.models import Patient


def contact_rows(*rows: dict[str, Any], initial: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contacts-TOTAL_FORMS": str(len(rows)),
        "contacts-INITIAL_FORMS": str(initial),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "5",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"contacts-{index}-{key}"] = value
    return data


def new_patient(**overrides: Any) -> dict[str, Any]:
    """A valid registration, as the form posts it."""
    data: dict[str, Any] = {
        "first_name": "Marisol",
        "middle_name": "",
        "last_name": "Okonkwo",
        "preferred_name": "",
        "date_of_birth": "1988-07-03",
        "sex_at_birth": "female",
        "gender_identity": "woman",
        "pronouns": "she/her",
        "language": "English",
        "phone": "(951) 555-0123",
        "email": "marisol@example.org",
        "state": "ca",
        "status": "prospective",
        "mrn": "",
        **contact_rows({"name": "", "relationship": "", "phone": ""}),
    }
    data.update(overrides)
    return data


def edit_of(patient: Patient, *contacts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The edit form as it would come back unchanged, plus ``overrides``."""
    data: dict[str, Any] = {
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "last_name": patient.last_name,
        "preferred_name": patient.preferred_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex_at_birth": patient.sex_at_birth,
        "gender_identity": patient.gender_identity,
        "gender_identity_other": patient.gender_identity_other,
        "pronouns": patient.pronouns,
        "sexual_orientation": patient.sexual_orientation,
        "veteran_status": patient.veteran_status,
        "language": patient.language,
        "phone": patient.phone,
        "email": patient.email,
        "address_line1": patient.address_line1,
        "address_line2": patient.address_line2,
        "city": patient.city,
        "state": patient.state,
        "postal_code": patient.postal_code,
        "status": patient.status,
        "mrn": patient.mrn,
    }
    for flag in ("lgbtq_group_opt_in", "survivor_group_opt_in", "needs_interpreter"):
        if getattr(patient, flag):
            data[flag] = "on"
    existing = patient.emergency_contacts
    rows = contacts or tuple(
        {"id": c.pk, "name": c.name, "relationship": c.relationship, "phone": c.phone}
        for c in existing
    )
    data.update(contact_rows(*rows, initial=len(existing)))
    data.update(overrides)
    return data
