"""Administrations: one instrument given to one patient, with its answers and its score; and
schedules: which instruments an episode of care repeats, and how often.

Results are never edited. A wrong entry is marked *entered in error* with the reason (it stays
in the chart, struck through); a correction is a new administration that points at the one it
corrects. Schedules are not edited either: a change stops the old one (who, when, why) and
starts a new one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from openiop.admissions.models import EpisodeOfCare
from openiop.measures import instruments
from openiop.patients.models import Patient

INSTRUMENT_CHOICES = [(code, d.name) for code, d in instruments.DEFINITIONS.items()]


class Administration(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    # Item number ("1".."N", "6_when") → the answer as scored (int, bool or word).
    answers = models.JSONField()
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=30, blank=True)
    flags = models.JSONField(default=list, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    # AUDIT-C only: the cut-off used ("male" 4, "female" 3), from the chart or chosen.
    sex_used = models.CharField(max_length=10, blank=True)
    administered_at = models.DateTimeField(
        "given at", default=timezone.now, help_text="When it was given; may be earlier than now."
    )
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now, editable=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    notes = models.TextField(blank=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        help_text="The administration this one replaces (it is marked entered in error).",
    )
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    entered_in_error_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "instrument", "administered_at"], name="administration_timeline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.name} {self.administered_at:%Y-%m-%d} ({self.pk})"

    @property
    def definition(self) -> instruments.Instrument:
        return instruments.definition(self.instrument)

    @property
    def entered_in_error(self) -> bool:
        return self.entered_in_error_at is not None

    @property
    def suicide_risk(self) -> bool:
        return "suicide_risk" in (self.flags or [])

    @property
    def tone(self) -> str:
        """How the band is shown: "danger", "warn", "ok" or "" (neutral)."""
        if self.suicide_risk or self.band in instruments.URGENT_BANDS:
            return "danger"
        if self.band in instruments.CONCERN_BANDS:
            return "warn"
        return "ok" if self.band in instruments.CLEAR_BANDS else ""

    @property
    def flag_labels(self) -> list[str]:
        return [instruments.FLAG_LABELS.get(f, f) for f in self.flags or []]

    @property
    def band_meaning(self) -> str:
        band = self.definition.band(self.band)
        return band.meaning if band else ""

    @property
    def result_label(self) -> str:
        """Total and band as a counselor reads them, e.g. "12 · moderate"."""
        parts = [str(self.total)] if self.total is not None else []
        if self.band:
            parts.append(self.band)
        if self.subscales:
            parts.append(", ".join(f"{k} {v}" for k, v in self.subscales.items()))
        return " · ".join(parts)

    def answer_rows(self) -> list[tuple[instruments.Item, str, int | None]]:
        """Each question answered, with the answer's words and the points it scored."""
        d = self.definition
        return [
            (item, d.option_label(item.number, self.answers[item.number]), d.points(item, value))
            for item in d.items
            if item.number in self.answers
            for value in [self.answers[item.number]]
        ]


class InstrumentSchedule(models.Model):
    """Give ``instrument`` every ``every_days`` days during an episode of care, first on
    ``starts_on``; when it is next due is worked out from the last time it was given
    (rules.next_due)."""

    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="instrument_schedules"
    )
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    every_days = models.PositiveSmallIntegerField("every how many days")
    starts_on = models.DateField("first due on")
    # Created from the defaults every episode starts with (rules.DEFAULT_SCHEDULES).
    is_default = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Empty when the system created it (the nightly command).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    stop_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["episode", "instrument", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "instrument"],
                condition=models.Q(stopped_at__isnull=True),
                name="schedule_one_active_per_instrument",
            ),
            models.CheckConstraint(
                condition=models.Q(every_days__gte=1), name="schedule_every_at_least_1_day"
            ),
        ]
        indexes = [
            models.Index(fields=["episode", "stopped_at"], name="schedule_episode_active"),
        ]

    def __str__(self) -> str:
        return f"{self.definition.name} every {self.every_days} days ({self.pk})"

    @property
    def definition(self) -> instruments.Instrument:
        return instruments.definition(self.instrument)

    @property
    def is_active(self) -> bool:
        return self.stopped_at is None

    @property
    def every_words(self) -> str:
        """ "every 14 days", "every day", "every week"."""
        if self.every_days == 1:
            return "every day"
        if self.every_days % 7 == 0:
            weeks = self.every_days // 7
            return "every week" if weeks == 1 else f"every {weeks} weeks"
        return f"every {self.every_days} days"
