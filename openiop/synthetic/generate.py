"""Deterministic synthetic people (SPEC §13): same seed, same people; nobody real.

Patients go in with bulk inserts, so 100,000 of them take minutes, not hours.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from openiop.accounts.models import Facility
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import consent_rules, rules
from openiop.patients.models import MrnSequence, Patient, PatientSearchToken, SupportContact
from openiop.synthetic import names

REFERENCE_DATE = dt.date(2026, 1, 1)  # ages are drawn against a fixed day: deterministic output
STATUS_WEIGHTS = (
    (Patient.Status.ACTIVE, 45),
    (Patient.Status.PROSPECTIVE, 15),
    (Patient.Status.DISCHARGED, 30),
    (Patient.Status.ON_HOLD, 5),
    (Patient.Status.INACTIVE, 5),
)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def synthetic_phone(rng: random.Random, area: str | None = None) -> str:
    """A number in the 555-01xx range reserved for fiction (SPEC §13)."""
    return f"{area or rng.choice(names.AREA_CODES)}-555-01{rng.randint(0, 99):02d}"


@dataclass
class PersonDraft:
    patient: Patient
    contacts: list[SupportContact]


def draft_person(rng: random.Random, facility: Facility, mrn: str, serial: int) -> PersonDraft:
    sex = rng.choices(["female", "male", "intersex"], weights=[48, 51, 1])[0]
    roll = rng.random()
    if sex == "female":
        gender = "woman" if roll > 0.04 else rng.choice(["trans_man", "non_binary"])
    elif sex == "male":
        gender = "man" if roll > 0.04 else rng.choice(["trans_woman", "non_binary"])
    else:
        gender = rng.choice(["woman", "man", "non_binary"])
    pool = {
        "woman": names.FEMALE_FIRST,
        "trans_woman": names.FEMALE_FIRST,
        "man": names.MALE_FIRST,
        "trans_man": names.MALE_FIRST,
    }.get(gender, names.NEUTRAL_FIRST)
    pronouns = {
        "woman": "she/her",
        "trans_woman": "she/her",
        "man": "he/him",
        "trans_man": "he/him",
    }.get(gender, "they/them")
    first = rng.choice(pool)
    last = rng.choice(names.LAST)
    if rng.random() < 0.08:
        last = f"{last}-{rng.choice(names.LAST)}"
    preferred = ""
    if rng.random() < 0.12:
        preferred = rng.choice(names.NEUTRAL_FIRST)
    age_days = rng.randint(18 * 365, 72 * 365)
    born = REFERENCE_DATE - dt.timedelta(days=age_days)
    city, state, zip3 = rng.choice(names.CITIES)
    phone = synthetic_phone(rng)
    orientation = ""
    if rng.random() < 0.6:
        orientation = rng.choices(
            ["straight", "gay", "lesbian", "bisexual", "queer", "declined"],
            weights=[80, 5, 4, 7, 2, 2],
        )[0]
    lgbtq = orientation in ("gay", "lesbian", "bisexual", "queer") or gender in (
        "trans_woman",
        "trans_man",
        "non_binary",
    )
    language = _weighted(rng, names.LANGUAGES)
    patient = Patient(
        facility=facility,
        mrn=mrn,
        first_name=first,
        middle_name=rng.choice(names.LAST)[0] if rng.random() < 0.3 else "",
        last_name=last,
        preferred_name=preferred,
        date_of_birth=born,
        sex_at_birth=sex,
        gender_identity=gender if rng.random() < 0.97 else "declined",
        pronouns=pronouns,
        sexual_orientation=orientation,
        lgbtq_group_opt_in=lgbtq and rng.random() < 0.5,
        survivor_group_opt_in=rng.random() < 0.12,
        veteran_status=rng.choices(["no", "veteran", "reserve", ""], weights=[80, 9, 2, 9])[0],
        language=language,
        needs_interpreter=language != "English" and rng.random() < 0.4,
        phone=phone,
        phone_digits=rules.normalize_phone(phone)[1],
        email=f"{first.lower()}.{last.lower()}.{serial}@example.org" if rng.random() < 0.8 else "",
        address_line1=(
            f"{rng.randint(100, 9999)} {rng.choice(names.STREETS)} {rng.choice(names.STREET_KINDS)}"
        ),
        city=city,
        state=state,
        postal_code=f"9{zip3[1:]}{rng.randint(10, 99)}",
        status=_weighted(rng, STATUS_WEIGHTS),
    )
    contacts = []
    for order in range(rng.choice([0, 1, 1, 1, 2])):
        contact_first = rng.choice(names.FEMALE_FIRST + names.MALE_FIRST)
        relationship = rng.choice(names.RELATIONSHIPS)
        contacts.append(
            SupportContact(
                name=f"{contact_first} {rng.choice([last, rng.choice(names.LAST)])}",
                relationship=relationship,
                relationship_kind=consent_rules.relationship_kind(relationship),
                is_sponsor=relationship == "Sponsor",
                is_emergency_contact=True,
                phone=synthetic_phone(rng),
                order=order,
            )
        )
    return PersonDraft(patient=patient, contacts=contacts)


def _drafts(
    rng: random.Random, facility: Facility, count: int, first_serial: int
) -> Iterator[PersonDraft]:
    for offset in range(count):
        serial = first_serial + offset
        yield draft_person(rng, facility, f"{facility.code}-{serial}", serial)


def generate_patients(
    facility: Facility,
    *,
    count: int,
    seed: int,
    batch_size: int = 2000,
    now: dt.datetime | None = None,
) -> int:
    """Insert ``count`` synthetic patients into ``facility``; returns how many were made."""
    from django.utils import timezone

    rng = random.Random(seed)
    # Registration times come from their own generator so the batch size cannot change people.
    clock = random.Random(f"{seed}-created")
    moment = now or timezone.now()
    sequence, _ = MrnSequence.objects.get_or_create(facility=facility)
    first_serial = sequence.last_value + 1
    made = 0
    batch: list[PersonDraft] = []

    def flush() -> None:
        nonlocal made
        with transaction.atomic():
            for draft in batch:
                created = moment - dt.timedelta(minutes=clock.randint(0, 60 * 24 * 720))
                draft.patient.created_at = created
                draft.patient.updated_at = created
            patients = Patient.objects.bulk_create([d.patient for d in batch])
            tokens = []
            contacts = []
            for draft, patient in zip(batch, patients, strict=True):
                for token in rules.search_tokens(
                    first=patient.first_name,
                    middle=patient.middle_name,
                    last=patient.last_name,
                    preferred=patient.preferred_name,
                    mrn=patient.mrn,
                    phone_digits=patient.phone_digits,
                ):
                    tokens.append(PatientSearchToken(patient_id=patient.pk, token=token))
                for contact in draft.contacts:
                    contact.patient_id = patient.pk
                    contacts.append(contact)
            PatientSearchToken.objects.bulk_create(tokens, batch_size=5000)
            SupportContact.objects.bulk_create(contacts, batch_size=5000)
        made += len(batch)
        batch.clear()

    for draft in _drafts(rng, facility, count, first_serial):
        batch.append(draft)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    highest = Patient.objects.filter(facility=facility).aggregate(n=Max("mrn"))["n"]
    MrnSequence.objects.filter(pk=sequence.pk).update(last_value=first_serial + count - 1)
    record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        facility_id=facility.pk,
        section="synthetic data",
        detail={"patients": made, "seed": seed, "highest_mrn": highest},
    )
    return made
