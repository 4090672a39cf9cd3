from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import Program, Track
from openiop.accounts.selectors import staff_with_roles
from openiop.admissions.models import Coverage, EpisodeOfCare
from openiop.admissions.permissions import PRIMARY_CLINICIAN_ROLES
from openiop.admissions.services import TEDS_FIELDS
from openiop.patients.models import Patient


class DateInput(forms.DateInput):
    input_type = "date"


def _plain_choices(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        if field.required:
            field.widget.attrs["required"] = True
        choices = getattr(field, "choices", None)
        if choices is not None:
            choices = list(choices)
            if choices and choices[0][0] in ("", None):
                field.choices = [  # type: ignore[attr-defined]
                    ("", "Choose…" if field.required else "Not recorded (−9)"),
                    *choices[1:],
                ]


class EpisodeForm(forms.ModelForm):
    """Admission (and corrections): program, track, clinician, referral and TEDS fields."""

    class Meta:
        model = EpisodeOfCare
        fields = [
            "program",
            "track",
            "admission_date",
            "primary_clinician",
            "referral_source",
            "referral_detail",
            "expected_length_days",
            *[f for f in TEDS_FIELDS if f != "teds_services"],
        ]
        widgets = {"admission_date": DateInput(format="%Y-%m-%d")}
        help_texts = {
            "expected_length_days": (
                "Most people need at least 90 days in treatment (NIDA); longer stays do better."
            ),
            "track": "Day or evening: the time the person can attend.",
        }

    def __init__(self, *args: Any, patient: Patient, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        facility = patient.facility
        self.fields["program"].queryset = Program.objects.filter(  # type: ignore[attr-defined]
            facility=facility, is_active=True
        )
        self.fields["track"].queryset = Track.objects.filter(  # type: ignore[attr-defined]
            program__facility=facility
        ).select_related("program")
        self.fields["track"].label_from_instance = (  # type: ignore[attr-defined]
            lambda t: f"{t.program.name} — {t.name}"
        )
        self.fields["primary_clinician"].queryset = staff_with_roles(  # type: ignore[attr-defined]
            facility, PRIMARY_CLINICIAN_ROLES
        )
        self.fields["primary_clinician"].label_from_instance = (  # type: ignore[attr-defined]
            lambda u: u.display_name
        )
        for name in ("program", "admission_date", "primary_clinician", "referral_source"):
            self.fields[name].required = True
        if editing:
            del self.fields["program"]
            del self.fields["admission_date"]
        _plain_choices(self)


class CoverageForm(forms.ModelForm):
    class Meta:
        model = Coverage
        fields = [
            "payer",
            "plan",
            "member_id",
            "group_number",
            "subscriber_name",
            "subscriber_relationship",
            "effective_from",
            "effective_to",
        ]
        widgets = {
            "effective_from": DateInput(format="%Y-%m-%d"),
            "effective_to": DateInput(format="%Y-%m-%d"),
        }
        help_texts = {"payer": "Leave empty for self-pay."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "Coverage cannot end before it starts.")
        return data
