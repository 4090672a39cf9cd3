"""Recovery tracking (SPEC §3 step 6, §8): drug tests with their results per substance, the
prescriptions that explain an expected positive, drug-test orders and their collection
days, the clinical response to a result, mutual-help meetings, relapse events and the
sobriety date.

- A **prescription** names a medication class (buprenorphine, methadone, benzodiazepine,
  stimulant) and the days it covers; it is what makes a positive *expected*.
- A **drug test** is one specimen (urine, oral fluid, breath), observed or not, collected
  at a time, with one **result** per substance. Each result keeps its reading (expected,
  unexpected, missing, negative, not readable) as worked out when it was recorded, so
  the chart shows what the clinician saw then even if a prescription changes later.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient, SupportContact
from openiop.recovery import rules


class Prescription(models.Model):
    class MedicationClass(models.TextChoices):
        BUPRENORPHINE = "buprenorphine", "Buprenorphine"
        METHADONE = "methadone", "Methadone"
        BENZODIAZEPINE = "benzodiazepine", "Benzodiazepine (prescribed)"
        STIMULANT = "stimulant", "Stimulant (prescribed)"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    medication_class = models.CharField(max_length=20, choices=MedicationClass.choices)
    name = models.CharField(max_length=120, help_text="As written, e.g. “buprenorphine 8 mg”.")
    prescriber = models.CharField(max_length=120, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="prescription_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def as_rule(self) -> rules.Prescription:
        return rules.Prescription(self.medication_class, self.start_date, self.end_date)


class DrugTest(models.Model):
    class Specimen(models.TextChoices):
        URINE = rules.Specimen.URINE.value, "Urine"
        ORAL_FLUID = rules.Specimen.ORAL_FLUID.value, "Oral fluid"
        BREATH = rules.Specimen.BREATH.value, "Breath"

    class Source(models.TextChoices):
        HAND = "hand", "Entered by hand"
        CSV = "csv", "Imported from a laboratory file"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="drug_tests")
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="drug_tests")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="drug_tests")
    specimen = models.CharField(max_length=12, choices=Specimen.choices)
    observed = models.BooleanField(default=False, help_text="Collection was observed.")
    collected_at = models.DateTimeField()
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=4, choices=Source.choices, default=Source.HAND)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-collected_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-collected_at"], name="drugtest_patient_at"),
            # The drug-test positivity report reads a facility's tests by date.
            models.Index(fields=["facility", "collected_at"], name="drugtest_fac_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_specimen_display()} test {self.collected_at:%Y-%m-%d}"

    @property
    def unexpected(self) -> list[DrugTestResult]:
        """The unexpected positives (from prefetched results)."""
        return [r for r in self.results.all() if r.reading == rules.Reading.UNEXPECTED]

    @property
    def clinical_response(self) -> ClinicalResponse | None:
        """The response recorded for this test, if any (select_related("response"))."""
        return getattr(self, "response", None)

    @property
    def needs_response(self) -> bool:
        return bool(self.unexpected) and self.clinical_response is None


class DrugTestResult(models.Model):
    class Result(models.TextChoices):
        POSITIVE = rules.Result.POSITIVE.value, "Positive"
        NEGATIVE = rules.Result.NEGATIVE.value, "Negative"
        INVALID = rules.Result.INVALID.value, "Invalid"
        DILUTE = rules.Result.DILUTE.value, "Dilute"

    class Reading(models.TextChoices):
        EXPECTED = rules.Reading.EXPECTED.value, "Expected (prescribed)"
        UNEXPECTED = rules.Reading.UNEXPECTED.value, "Unexpected"
        MISSING = rules.Reading.MISSING.value, "Prescribed but not found"
        NEGATIVE = rules.Reading.NEGATIVE.value, "Negative"
        NOT_READABLE = rules.Reading.NOT_READABLE.value, "Not readable: collect again"

    test = models.ForeignKey(DrugTest, on_delete=models.CASCADE, related_name="results")
    substance = models.CharField(max_length=20, choices=list(rules.SUBSTANCES.items()))
    result = models.CharField(max_length=10, choices=Result.choices)
    reading = models.CharField(max_length=12, choices=Reading.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["substance"]
        constraints = [
            models.UniqueConstraint(fields=["test", "substance"], name="drugtest_one_result")
        ]

    def __str__(self) -> str:
        return f"{self.get_substance_display()}: {self.get_result_display()}"


def new_order_secret() -> str:
    return secrets.token_hex(32)


class DrugTestOrder(models.Model):
    """What the clinician ordered: a specimen and panel, collected on fixed weekdays or on
    ``per_week`` random days of the days the program runs, between two dates.

    Random days come from an HMAC of ``secret`` (rules.due_days): nobody can tell them in
    advance, and each page shows the same days every time."""

    class Frequency(models.TextChoices):
        FIXED = rules.Frequency.FIXED.value, "Fixed days every week"
        RANDOM = rules.Frequency.RANDOM.value, "Random days each week"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="drug_test_orders")
    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="drug_test_orders"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    specimen = models.CharField(max_length=12, choices=DrugTest.Specimen.choices)
    observed = models.BooleanField("observed collection required", default=True)
    panel = models.CharField(
        max_length=20,
        choices=[*((k, v[0]) for k, v in rules.PANELS.items()), (rules.CUSTOM_PANEL, "Custom")],
    )
    substances = models.JSONField(default=list, help_text="Substance codes tested for.")
    frequency = models.CharField(max_length=6, choices=Frequency.choices)
    weekdays = models.CharField(
        max_length=13,
        help_text="Fixed days, or the days a random collection may fall on (0 = Monday).",
    )
    per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=64, default=new_order_secret, editable=False)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField(default=timezone.now)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["-start_date", "-id"]
        indexes = [
            models.Index(fields=["patient", "start_date"], name="dtorder_patient_start"),
            models.Index(fields=["facility", "start_date"], name="dtorder_facility_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="dtorder_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_specimen_display()} drug-test order from {self.start_date:%m/%d/%Y}"

    @property
    def weekday_numbers(self) -> tuple[int, ...]:
        return rules.parse_weekdays(self.weekdays)

    @property
    def last_day(self) -> dt.date | None:
        """The order's end, or the discharge if that comes first (select_related episode)."""
        ends = [d for d in (self.end_date, self.episode.discharge_date) if d is not None]
        return min(ends) if ends else None

    def spec(self) -> rules.OrderSpec:
        return rules.OrderSpec(
            frequency=self.frequency,
            weekdays=self.weekday_numbers,
            per_week=self.per_week,
            start=self.start_date,
            end=self.last_day,
            secret=self.secret,
        )

    def active_on(self, day: dt.date) -> bool:
        last = self.last_day
        return self.start_date <= day and (last is None or day <= last)

    @property
    def schedule_text(self) -> str:
        days = rules.weekdays_text(self.weekday_numbers)
        if self.frequency == rules.Frequency.FIXED:
            return f"Every {days}"
        return f"{self.per_week} random day(s) a week, among {days}"

    @property
    def substances_text(self) -> str:
        return ", ".join(rules.SUBSTANCES.get(s, s) for s in self.substances)


class Collection(models.Model):
    """What happened on one due day of an order: collected (the test), not collected or
    refused (with the reason)."""

    class Status(models.TextChoices):
        COLLECTED = "collected", "Collected"
        NOT_COLLECTED = "not_collected", "Not collected"
        REFUSED = "refused", "Refused by the patient"

    order = models.ForeignKey(DrugTestOrder, on_delete=models.PROTECT, related_name="collections")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=14, choices=Status.choices)
    test = models.ForeignKey(
        DrugTest, on_delete=models.PROTECT, null=True, blank=True, related_name="collections"
    )
    reason = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-due_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "due_date"], name="collection_one_per_day"),
            models.CheckConstraint(
                condition=models.Q(status="collected", test__isnull=False)
                | (~models.Q(status="collected") & models.Q(test__isnull=True)),
                name="collection_test_iff_collected",
            ),
        ]
        indexes = [models.Index(fields=["patient", "due_date"], name="collection_patient_day")]

    def __str__(self) -> str:
        return f"{self.due_date:%m/%d/%Y}: {self.get_status_display()}"


class ClinicalResponse(models.Model):
    """What the clinician did about a test's result (an unexpected positive asks for it)."""

    test = models.OneToOneField(DrugTest, on_delete=models.PROTECT, related_name="response")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    actions = models.JSONField(default=list)
    note = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-responded_at", "-id"]
        indexes = [models.Index(fields=["patient", "responded_at"], name="response_patient_at")]

    def __str__(self) -> str:
        return f"Clinical response {self.responded_at:%m/%d/%Y}"

    @property
    def actions_text(self) -> str:
        return "; ".join(rules.RESPONSE_LABELS.get(a, a) for a in self.actions)


class Meeting(models.Model):
    """One mutual-help meeting the patient attended (12-step or other), and how we know."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="meetings")
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="meetings")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    week_start = models.DateField(help_text="The Monday of its ISO week.")
    fellowship = models.CharField(max_length=10, choices=list(rules.FELLOWSHIPS.items()))
    fellowship_other = models.CharField("other fellowship", max_length=120, blank=True)
    name = models.CharField("meeting name", max_length=120, blank=True)
    setting = models.CharField("where", max_length=16, choices=list(rules.MEETING_SETTINGS.items()))
    place = models.CharField("place (own words)", max_length=120, blank=True)
    minutes = models.PositiveSmallIntegerField("length (minutes)")
    verification = models.CharField(max_length=5, choices=list(rules.VERIFICATIONS.items()))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sponsor_contact = models.ForeignKey(
        SupportContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sponsor_name = models.CharField("sponsor", max_length=120, blank=True)
    slip = models.ForeignKey(
        "attachments.Attachment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["patient", "date"], name="meeting_patient_date"),
            models.Index(fields=["episode", "week_start"], name="meeting_episode_week"),
            # The mutual-help report reads a facility's meetings by week.
            models.Index(fields=["facility", "week_start"], name="meeting_fac_week"),
        ]

    def __str__(self) -> str:
        return f"{self.fellowship_label} meeting {self.date:%m/%d/%Y}"

    @property
    def fellowship_label(self) -> str:
        if self.fellowship == "other":
            return self.fellowship_other or "Other"
        return self.get_fellowship_display()

    @property
    def sponsor_label(self) -> str:
        if self.sponsor_contact_id is not None and self.sponsor_contact is not None:
            return self.sponsor_contact.name
        return self.sponsor_name


class RelapseEvent(models.Model):
    """A return to use: when, what, the circumstances and triggers, how it came to light and
    what the program did about it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="relapses")
    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.PROTECT, null=True, blank=True, related_name="relapses"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    date = models.DateField("date of use")
    substances = models.JSONField(default=list)
    substances_other = models.CharField("other substance", max_length=120, blank=True)
    circumstances = models.TextField(blank=True)
    triggers = models.TextField(blank=True)
    came_to_light = models.CharField(
        "how it came to light", max_length=14, choices=list(rules.CAME_TO_LIGHT.items())
    )
    drug_test = models.ForeignKey(
        DrugTest, on_delete=models.PROTECT, null=True, blank=True, related_name="relapses"
    )
    responses = models.JSONField(default=list)
    response_other = models.CharField("other response", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["patient", "date"], name="relapse_patient_date")]

    def __str__(self) -> str:
        return f"Relapse {self.date:%m/%d/%Y}"

    @property
    def substances_text(self) -> str:
        names = [rules.RELAPSE_SUBSTANCES.get(s, s) for s in self.substances if s != "other"]
        if "other" in self.substances:
            names.append(self.substances_other or "other")
        return ", ".join(names)

    @property
    def responses_text(self) -> str:
        names = [rules.RELAPSE_RESPONSES.get(r, r) for r in self.responses if r != "other"]
        if "other" in self.responses:
            names.append(self.response_other or "other")
        return "; ".join(names)


class SobrietyDate(models.Model):
    """One setting of the patient's sobriety date. Rows are never changed: the current date
    is the latest row, and a reset keeps the previous date and why it changed."""

    class Reason(models.TextChoices):
        FIRST = "first", "First recorded"
        RELAPSE = "relapse", "Reset after a relapse"
        CORRECTION = "correction", "Corrected"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sobriety_dates")
    sobriety_date = models.DateField()
    previous_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    reason_text = models.CharField(max_length=300, blank=True)
    relapse = models.ForeignKey(
        RelapseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-set_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "set_at"], name="sobriety_patient_set"),
            models.Index(fields=["patient", "sobriety_date"], name="sobriety_patient_date"),
        ]

    def __str__(self) -> str:
        return f"Sober since {self.sobriety_date:%m/%d/%Y}"
