"""Admission: the episode of care (program, level, track, clinician, payer) and its TEDS fields."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility, Phase, Program, Track
from openiop.admissions.rules import MINIMUM_STAY_DAYS
from openiop.core import teds
from openiop.patients.models import Patient


class EpisodeOfCare(models.Model):
    """One stay in a program, from admission to discharge; a readmission is a new episode."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="episodes")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="episodes")
    level_of_care = models.CharField(max_length=4, choices=Program.LevelOfCare.choices)
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="episodes"
    )
    phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, null=True, blank=True, related_name="episodes"
    )
    admission_date = models.DateField()
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="primary_episodes"
    )
    referral_source = models.PositiveSmallIntegerField(
        "referral source (TEDS PSOURCE)", choices=teds.ReferralSource.choices
    )
    referral_detail = models.CharField(
        "referred by", max_length=200, blank=True, help_text="Who referred, e.g. the court or EAP."
    )
    expected_length_days = models.PositiveSmallIntegerField(
        "expected length of stay (days)",
        default=MINIMUM_STAY_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    asam_level = models.CharField(
        "ASAM level at admission", max_length=12, blank=True, help_text="From the signed ASAM."
    )
    discharge_date = models.DateField(null=True, blank=True)

    # --- TEDS admission record (SPEC §9); None exports as −9 -------------------------------
    teds_services = models.PositiveSmallIntegerField(
        "type of service (SERVICES)", choices=teds.Services.choices
    )
    teds_noprior = models.PositiveSmallIntegerField(
        "prior treatment episodes (NOPRIOR)",
        choices=teds.PriorTreatment.choices,
        null=True,
        blank=True,
    )
    teds_sub1 = models.PositiveSmallIntegerField(
        "primary substance (SUB1)", choices=teds.Substance.choices, null=True, blank=True
    )
    teds_route1 = models.PositiveSmallIntegerField(
        "route (ROUTE1)", choices=teds.Route.choices, null=True, blank=True
    )
    teds_freq1 = models.PositiveSmallIntegerField(
        "frequency (FREQ1)", choices=teds.Frequency.choices, null=True, blank=True
    )
    teds_frstuse1 = models.PositiveSmallIntegerField(
        "age at first use (FRSTUSE1)", choices=teds.FirstUseAge.choices, null=True, blank=True
    )
    teds_sub2 = models.PositiveSmallIntegerField(
        "secondary substance (SUB2)", choices=teds.Substance.choices, null=True, blank=True
    )
    teds_route2 = models.PositiveSmallIntegerField(
        "route (ROUTE2)", choices=teds.Route.choices, null=True, blank=True
    )
    teds_freq2 = models.PositiveSmallIntegerField(
        "frequency (FREQ2)", choices=teds.Frequency.choices, null=True, blank=True
    )
    teds_frstuse2 = models.PositiveSmallIntegerField(
        "age at first use (FRSTUSE2)", choices=teds.FirstUseAge.choices, null=True, blank=True
    )
    teds_sub3 = models.PositiveSmallIntegerField(
        "tertiary substance (SUB3)", choices=teds.Substance.choices, null=True, blank=True
    )
    teds_route3 = models.PositiveSmallIntegerField(
        "route (ROUTE3)", choices=teds.Route.choices, null=True, blank=True
    )
    teds_freq3 = models.PositiveSmallIntegerField(
        "frequency (FREQ3)", choices=teds.Frequency.choices, null=True, blank=True
    )
    teds_frstuse3 = models.PositiveSmallIntegerField(
        "age at first use (FRSTUSE3)", choices=teds.FirstUseAge.choices, null=True, blank=True
    )
    teds_employ = models.PositiveSmallIntegerField(
        "employment (EMPLOY)", choices=teds.Employment.choices, null=True, blank=True
    )
    teds_livarag = models.PositiveSmallIntegerField(
        "living arrangement (LIVARAG)",
        choices=teds.LivingArrangement.choices,
        null=True,
        blank=True,
    )
    teds_arrests = models.PositiveSmallIntegerField(
        "arrests in past 30 days (ARRESTS)", choices=teds.Arrests.choices, null=True, blank=True
    )
    teds_educ = models.PositiveSmallIntegerField(
        "education (EDUC)", choices=teds.Education.choices, null=True, blank=True
    )
    teds_marstat = models.PositiveSmallIntegerField(
        "marital status (MARSTAT)", choices=teds.MaritalStatus.choices, null=True, blank=True
    )
    teds_self_help = models.PositiveSmallIntegerField(
        "mutual-help meetings, past 30 days (FREQ_ATND_SELF_HELP)",
        choices=teds.SelfHelpAttendance.choices,
        null=True,
        blank=True,
    )
    teds_psyprob = models.PositiveSmallIntegerField(
        "co-occurring mental health problem (PSYPROB)",
        choices=teds.YesNo.choices,
        null=True,
        blank=True,
    )
    teds_methuse = models.PositiveSmallIntegerField(
        "medication for opioid use disorder planned (METHUSE)",
        choices=teds.YesNo.choices,
        null=True,
        blank=True,
    )
    teds_hlthins = models.PositiveSmallIntegerField(
        "health insurance (HLTHINS)", choices=teds.HealthInsurance.choices, null=True, blank=True
    )
    teds_primpay = models.PositiveSmallIntegerField(
        "expected payer (PRIMPAY)", choices=teds.PrimaryPayer.choices, null=True, blank=True
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-admission_date", "-id"]
        constraints = [
            # One open episode per patient per facility (a readmission follows a discharge).
            models.UniqueConstraint(
                fields=["patient", "facility"],
                condition=models.Q(discharge_date__isnull=True),
                name="episode_one_open_per_facility",
            ),
            models.CheckConstraint(
                condition=models.Q(discharge_date__isnull=True)
                | models.Q(discharge_date__gte=models.F("admission_date")),
                name="episode_discharge_after_admission",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "discharge_date"], name="episode_fac_open"),
            models.Index(fields=["primary_clinician", "discharge_date"], name="episode_clin_open"),
            models.Index(fields=["patient", "admission_date"], name="episode_patient"),
        ]

    def __str__(self) -> str:
        return f"Episode {self.pk} ({self.program_id})"

    @property
    def is_open(self) -> bool:
        return self.discharge_date is None

    def days_in_treatment(self, on: dt.date) -> int:
        """Day 1 is the admission day; a discharged episode stops counting at discharge."""
        end = min(on, self.discharge_date) if self.discharge_date else on
        return max((end - self.admission_date).days + 1, 0)

    @property
    def length_of_stay_days(self) -> int | None:
        """Days from admission to discharge (TEDS LOS counts them this way), None while open."""
        if self.discharge_date is None:
            return None
        return (self.discharge_date - self.admission_date).days

    @property
    def expected_end_date(self) -> dt.date:
        return self.admission_date + dt.timedelta(days=self.expected_length_days - 1)

    def teds_substances(self) -> list[dict[str, int | None]]:
        return [
            {
                "sub": getattr(self, f"teds_sub{n}"),
                "route": getattr(self, f"teds_route{n}"),
                "freq": getattr(self, f"teds_freq{n}"),
                "frstuse": getattr(self, f"teds_frstuse{n}"),
            }
            for n in (1, 2, 3)
        ]


class Coverage(models.Model):
    """Who pays: the payer, plan and member of the episode (FHIR Coverage)."""

    class Priority(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"

    class Relationship(models.TextChoices):
        SELF = "self", "Self"
        SPOUSE = "spouse", "Spouse or partner"
        CHILD = "child", "Child"
        OTHER = "other", "Other"

    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.CASCADE, related_name="coverages")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.PRIMARY)
    payer = models.CharField(max_length=200)
    plan = models.CharField(max_length=200, blank=True)
    member_id = models.CharField("member ID", max_length=60, blank=True)
    group_number = models.CharField(max_length=60, blank=True)
    subscriber_name = models.CharField(max_length=200, blank=True)
    subscriber_relationship = models.CharField(
        max_length=10, choices=Relationship.choices, default=Relationship.SELF
    )
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["episode", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "priority"], name="coverage_one_per_priority"
            ),
        ]

    def __str__(self) -> str:
        return self.payer


class PhaseChange(models.Model):
    """A move between phases of treatment (SPEC §4), forward or back, with who and why."""

    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.CASCADE, related_name="phase_changes"
    )
    from_phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="+")
    changed_on = models.DateField()
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["episode", "-changed_on", "-id"]

    def __str__(self) -> str:
        return f"Phase change on {self.changed_on:%m/%d/%Y}"

    @property
    def is_step_back(self) -> bool:
        return self.from_phase is not None and self.to_phase.order < self.from_phase.order
