"""Recovery tracking: drug tests with their results per substance, and the prescriptions
that explain an expected positive (SPEC §8).

- A **prescription** names a medication class (buprenorphine, methadone, benzodiazepine,
  stimulant) and the days it covers; it is what makes a positive *expected*.
- A **drug test** is one specimen (urine, oral fluid, breath), observed or not, collected
  at a time, with one **result** per substance. Each result keeps its reading (expected,
  unexpected, missing, negative, not readable) as worked out when it was recorded, so
  the chart shows what the clinician saw then even if a prescription changes later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
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
        indexes = [models.Index(fields=["patient", "-collected_at"], name="drugtest_patient_at")]

    def __str__(self) -> str:
        return f"{self.get_specimen_display()} test {self.collected_at:%Y-%m-%d}"


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
