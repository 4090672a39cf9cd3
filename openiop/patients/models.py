"""The person in treatment: identity, contact, support system, care team, access grants,
42 CFR Part 2 consents and the disclosures made under them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility
from openiop.patients import consent_rules


class Patient(models.Model):
    class SexAtBirth(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Unknown"
        DECLINED = "declined", "Chose not to say"

    class GenderIdentity(models.TextChoices):
        WOMAN = "woman", "Woman"
        MAN = "man", "Man"
        TRANS_WOMAN = "trans_woman", "Transgender woman"
        TRANS_MAN = "trans_man", "Transgender man"
        NON_BINARY = "non_binary", "Non-binary"
        OTHER = "other", "Another identity"
        DECLINED = "declined", "Chose not to say"

    class SexualOrientation(models.TextChoices):
        STRAIGHT = "straight", "Straight / heterosexual"
        GAY = "gay", "Gay"
        LESBIAN = "lesbian", "Lesbian"
        BISEXUAL = "bisexual", "Bisexual"
        QUEER = "queer", "Queer"
        OTHER = "other", "Another orientation"
        DECLINED = "declined", "Chose not to say"

    class VeteranStatus(models.TextChoices):
        NOT_VETERAN = "no", "Not a veteran"
        VETERAN = "veteran", "Veteran"
        ACTIVE_DUTY = "active_duty", "Active duty"
        RESERVE = "reserve", "Reserve or National Guard"
        DECLINED = "declined", "Chose not to say"

    class Status(models.TextChoices):
        PROSPECTIVE = "prospective", "Not yet admitted"
        ACTIVE = "active", "In treatment"
        ON_HOLD = "on_hold", "On hold"
        DISCHARGED = "discharged", "Discharged"
        INACTIVE = "inactive", "Inactive"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("medical record number", max_length=20)
    first_name = models.CharField("legal first name", max_length=100)
    middle_name = models.CharField("middle name", max_length=100, blank=True)
    last_name = models.CharField("legal last name", max_length=100)
    preferred_name = models.CharField(
        max_length=100, blank=True, help_text="The name the person wants to be called."
    )
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=12, choices=GenderIdentity.choices, blank=True)
    gender_identity_other = models.CharField(
        "gender identity (own words)", max_length=60, blank=True
    )
    pronouns = models.CharField(max_length=30, blank=True)
    # Self-identified and opt-in (SPEC §7): blank means not asked or not shared.
    sexual_orientation = models.CharField(
        max_length=10, choices=SexualOrientation.choices, blank=True
    )
    lgbtq_group_opt_in = models.BooleanField("wants LGBTQ+ groups", default=False)
    survivor_group_opt_in = models.BooleanField("wants survivors' groups", default=False)
    veteran_status = models.CharField(max_length=12, choices=VeteranStatus.choices, blank=True)
    language = models.CharField("preferred language", max_length=40, default="English")
    needs_interpreter = models.BooleanField(default=False)
    phone = models.CharField(max_length=20, blank=True)
    phone_digits = models.CharField(max_length=15, blank=True, editable=False)
    email = models.EmailField("e-mail", blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROSPECTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    history = HistoricalRecords(excluded_fields=["phone_digits", "updated_at"])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "mrn"], name="patient_unique_mrn"),
        ]
        indexes = [
            models.Index(fields=["facility", "last_name", "first_name"], name="patient_fac_name"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["facility", "status"], name="patient_fac_status"),
            models.Index(fields=["facility", "created_at"], name="patient_fac_created"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        """Preferred name first, as people are greeted by it; the legal name follows."""
        if self.preferred_name and self.preferred_name != self.first_name:
            return f"{self.preferred_name} ({self.first_name}) {self.last_name}"
        return f"{self.first_name} {self.last_name}"

    @property
    def legal_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)

    @property
    def emergency_contacts(self) -> list[SupportContact]:
        """Active support contacts marked as emergency contacts, in the registration's order.

        Filtered in Python so that ``prefetch_related("support_contacts")`` serves a whole list.
        """
        return [c for c in self.support_contacts.all() if c.is_emergency_contact and c.active]

    @property
    def gender_identity_label(self) -> str:
        if self.gender_identity == self.GenderIdentity.OTHER and self.gender_identity_other:
            return self.gender_identity_other
        return self.get_gender_identity_display()


class PatientSearchToken(models.Model):
    """Prefixes searchable by an index: name words, MRN and phone digits, all normalized.

    "Part of a name" searches become index range scans instead of table scans, which keeps
    search fast at 100,000 patients on SQLite and PostgreSQL alike.
    """

    # Indexed by patient_token_rev_idx below (patient first), not by a patient-only index.
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="search_tokens", db_index=False
    )
    token = models.CharField(max_length=40)

    class Meta:
        indexes = [
            # prefix search: the patients whose tokens fall in a range
            models.Index(fields=["token", "patient"], name="patient_token_idx"),
            # "does this patient also have a token in that range?" for the other words of a
            # query and for PostgreSQL's walk in name order: one index-only probe per patient
            models.Index(fields=["patient", "token"], name="patient_token_rev_idx"),
        ]

    def __str__(self) -> str:
        return self.token


class MrnSequence(models.Model):
    facility = models.OneToOneField(Facility, on_delete=models.CASCADE, related_name="+")
    last_value = models.PositiveIntegerField(default=100000)

    def __str__(self) -> str:
        return f"{self.facility_id}: {self.last_value}"


class SupportContact(models.Model):
    """Someone in the patient's support system: family, partner, friend, sponsor, employer…

    The registration form's emergency contacts are support contacts with
    ``is_emergency_contact`` set. Whether the program may talk to them depends on the
    patient's 42 CFR Part 2 consents (openiop.patients.consents), never on this row alone.
    """

    class Kind(models.TextChoices):
        PARENT = "parent", "Parent"
        PARTNER = "partner", "Spouse or partner"
        CHILD = "child", "Child"
        SIBLING = "sibling", "Sibling"
        OTHER_FAMILY = "other_family", "Other family"
        FRIEND = "friend", "Friend"
        SPONSOR = "sponsor", "Sponsor"
        EMPLOYER = "employer", "Employer"
        PROBATION = "probation", "Probation or parole officer"
        OTHER = "other", "Other"

    class InRecovery(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        UNKNOWN = "unknown", "Don't know"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="support_contacts")
    name = models.CharField(max_length=200)
    relationship_kind = models.CharField(
        "relationship", max_length=12, choices=Kind.choices, default=Kind.OTHER
    )
    relationship = models.CharField("relationship (own words)", max_length=60, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField("e-mail", blank=True)
    address = models.CharField(max_length=300, blank=True)
    in_recovery = models.CharField(
        "in recovery themselves", max_length=7, choices=InRecovery.choices, default="unknown"
    )
    is_emergency_contact = models.BooleanField("emergency contact", default=False)
    family_program_participant = models.BooleanField(
        "takes part in the family program", default=False
    )
    is_sponsor = models.BooleanField("12-step sponsor", default=False)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "order", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def relationship_label(self) -> str:
        """The patient's own words when given ("my aunt Rosa"), else the kind."""
        return self.relationship or self.get_relationship_kind_display()

    @property
    def roles(self) -> list[str]:
        named = [
            (self.is_emergency_contact, "Emergency contact"),
            (self.family_program_participant, "Family program"),
            (self.is_sponsor, "Sponsor"),
        ]
        return [label for on, label in named if on]


class CareTeamMember(models.Model):
    """A staff member's care relationship with a patient; it puts the patient on their caseload."""

    class Role(models.TextChoices):
        PRIMARY_CLINICIAN = "primary_clinician", "Primary clinician"
        THERAPIST = "therapist", "Therapist"
        CASE_MANAGER = "case_manager", "Case manager"
        PRESCRIBER = "prescriber", "Prescriber"
        PEER_SUPPORT = "peer_support", "Peer support"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_assignments"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    started_on = models.DateField(default=timezone.localdate)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["patient", "role"]
        indexes = [models.Index(fields=["user", "ended_on"], name="careteam_user_active")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "user", "role"],
                condition=models.Q(ended_on__isnull=True),
                name="careteam_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}"


class BreakGlassGrant(models.Model):
    """Time-limited emergency access to a chart outside the user's scope, with a typed reason."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "expires_at"], name="breakglass_user_exp"),
            models.Index(fields=["reviewed_at", "created_at"], name="breakglass_review"),
        ]

    def __str__(self) -> str:
        return f"Break-the-glass {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()


class ClinicalAlert(models.Model):
    """A flag on the chart that stays in the header until someone acknowledges it.

    Raised by the capabilities above (a PHQ-9 item 9, a C-SSRS screener, later an unexpected
    drug-test result); acknowledging records who, when and the action taken.
    """

    class Kind(models.TextChoices):
        SUICIDE_RISK = "suicide_risk", "Suicide risk"
        IMMINENT_RISK = "imminent_risk", "Imminent risk"
        WITHDRAWAL_RISK = "withdrawal_risk", "Withdrawal risk"
        UNEXPECTED_RESULT = "unexpected_result", "Unexpected drug-test result"
        ATTENDANCE = "attendance", "Attendance"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        URGENT = "urgent", "Urgent"
        WARNING = "warning", "Needs attention"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.URGENT)
    message = models.CharField(max_length=300)
    next_step = models.CharField(max_length=300, blank=True)
    # What raised it, e.g. "measures.administration" and its id (no FK: any capability may raise).
    source_type = models.CharField(max_length=60, blank=True)
    source_id = models.CharField(max_length=40, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "acknowledged_at"], name="alert_patient_open"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class Consent(models.Model):
    """A 42 CFR Part 2 consent to disclose (§2.31). Signed consents never change: a change
    is a new consent. Its status (draft, active, expired, revoked) is computed by
    consent_rules.consent_status, never stored."""

    class Kind(models.TextChoices):
        TPO = consent_rules.KIND_TPO, "Treatment, payment and operations (single consent)"
        NAMED = consent_rules.KIND_NAMED, "A named person or organization"

    class Expiry(models.TextChoices):
        DATE = consent_rules.EXPIRY_DATE, "On a date"
        END_OF_TREATMENT = consent_rules.EXPIRY_END_OF_TREATMENT, "At the end of treatment"
        NONE = consent_rules.EXPIRY_NONE, "No end (TPO consents only)"

    class Signer(models.TextChoices):
        PATIENT = "patient", "The patient"
        REPRESENTATIVE = "representative", "A guardian or legal representative"

    class RevocationMethod(models.TextChoices):
        WRITING = "writing", "In writing"
        VERBAL = "verbal", "Verbally (documented here)"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    disclosing_party = models.CharField("who may disclose", max_length=200)
    information_description = models.TextField("information to be disclosed")
    categories = models.JSONField(default=list, help_text="Codes from consent_rules.CATEGORIES.")
    recipients_description = models.TextField("recipients")
    recipient_name = models.CharField(max_length=200, blank=True)
    recipient_organization = models.CharField(max_length=200, blank=True)
    support_contact = models.ForeignKey(
        SupportContact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consents",
        help_text="When the recipient is someone in the patient's support system.",
    )
    purpose = models.TextField("purpose of the disclosure")
    revocation_statement = models.TextField(editable=False)
    expiry_kind = models.CharField("ends", max_length=16, choices=Expiry.choices)
    expires_on = models.DateField("end date", null=True, blank=True)
    signer = models.CharField("signed by", max_length=14, choices=Signer.choices, blank=True)
    representative_name = models.CharField(max_length=200, blank=True)
    representative_authority = models.CharField(
        "representative's authority", max_length=100, blank=True
    )
    typed_signature = models.CharField("typed full name", max_length=200, blank=True)
    signature_attested = models.BooleanField(default=False)
    signed_at = models.DateTimeField(null=True, blank=True)
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_method = models.CharField(max_length=8, choices=RevocationMethod.choices, blank=True)
    revocation_note = models.TextField(blank=True)
    revocation_received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "signed_at"], name="consent_patient_signed")]

    def __str__(self) -> str:
        return f"Consent {self.pk}"

    @property
    def reference(self) -> str:
        return f"Consent #{self.pk}"

    @property
    def recipient_label(self) -> str:
        if self.kind == self.Kind.TPO:
            return "Treating providers, health plans and payers, program operations"
        if self.recipient_organization:
            return f"{self.recipient_name} ({self.recipient_organization})"
        return self.recipient_name

    @property
    def category_labels(self) -> list[str]:
        return consent_rules.category_labels(self.categories)

    def facts(self) -> consent_rules.ConsentFacts:
        zone = self.patient.facility.zone
        return consent_rules.ConsentFacts(
            kind=self.kind,
            categories=frozenset(self.categories),
            expiry_kind=self.expiry_kind,
            signed_on=timezone.localdate(self.signed_at, timezone=zone) if self.signed_at else None,
            recipient_name=self.recipient_name,
            recipient_organization=self.recipient_organization,
            expires_on=self.expires_on,
            revoked_on=self.revoked_on,
        )

    def status_on(self, day: dt.date) -> str:
        return consent_rules.consent_status(
            self.facts(), on=day, patient_in_treatment=patient_in_treatment(self.patient)
        )


def patient_in_treatment(patient: Patient) -> bool:
    """An "end of treatment" consent lasts while this holds."""
    return patient.status not in (Patient.Status.DISCHARGED, Patient.Status.INACTIVE)


class Disclosure(models.Model):
    """One release of records to an outside party: the accounting of disclosures (SPEC §10)."""

    class Method(models.TextChoices):
        PRINTED = "printed", "Printed and handed over or mailed"
        PDF = "pdf", "PDF download"
        FAX = "fax", "Fax"
        ELECTRONIC = "electronic", "Electronic (secure e-mail or portal)"

    class ExceptionKind(models.TextChoices):
        MEDICAL_EMERGENCY = "medical_emergency", "Medical emergency (§2.51)"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="disclosures")
    # RESTRICT: a consent a disclosure was made under is kept as long as the disclosure.
    consent = models.ForeignKey(
        Consent, on_delete=models.RESTRICT, null=True, blank=True, related_name="disclosures"
    )
    recipient_name = models.CharField(max_length=200)
    recipient_organization = models.CharField(max_length=200, blank=True)
    tpo_class = models.CharField(
        "recipient class",
        max_length=20,
        blank=True,
        choices=list(consent_rules.TPO_CLASSES.items()),
    )
    categories = models.JSONField(default=list)
    description = models.TextField("what was released")
    purpose = models.TextField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PDF)
    exception = models.CharField(max_length=20, choices=ExceptionKind.choices, blank=True)
    exception_note = models.TextField(blank=True)
    disclosed_at = models.DateTimeField(default=timezone.now)
    disclosed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-disclosed_at", "-id"]
        indexes = [models.Index(fields=["patient", "disclosed_at"], name="disclosure_patient_at")]

    def __str__(self) -> str:
        return f"Disclosure {self.pk}"

    @property
    def recipient_label(self) -> str:
        if self.recipient_organization:
            return f"{self.recipient_name} ({self.recipient_organization})"
        return self.recipient_name

    @property
    def category_labels(self) -> list[str]:
        return consent_rules.category_labels(self.categories)
