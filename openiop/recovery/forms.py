"""Forms of the Recovery tab. They parse and label; the services decide (a form repeats a
service's words at most, so a counselor sees one message either way)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.attachments.models import Attachment
from openiop.patients.models import Patient, SupportContact
from openiop.recovery import rules
from openiop.recovery.models import Collection, DrugTest, DrugTestResult, Prescription
from openiop.recovery.permissions import RECOVERY_ROLES

NOT_TESTED = ""
RESULT_CHOICES = [(NOT_TESTED, "Not tested"), *DrugTestResult.Result.choices]
WEEKDAY_CHOICES = [(str(n), name) for n, name in enumerate(rules.WEEKDAY_NAMES)]
PANEL_CHOICES = [
    *((code, label) for code, (label, _) in rules.PANELS.items()),
    (rules.CUSTOM_PANEL, "Choose the substances (tick them below)"),
]
SUBSTANCE_CHOICES = list(rules.SUBSTANCES.items())


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.role_label})"


def collectors(patient: Patient) -> QuerySet[User]:
    """Who may be named as having collected a specimen: the facility's clinical team."""
    return (
        User.objects.filter(
            is_active=True, role__in=list(RECOVERY_ROLES), facilities=patient.facility_id
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


def result_field(substance: str) -> str:
    return f"result_{substance}"


class DrugTestForm(forms.Form):
    specimen = forms.ChoiceField(
        label="Specimen", choices=DrugTest.Specimen.choices, widget=forms.RadioSelect
    )
    observed = forms.BooleanField(label="The collection was observed", required=False)
    collected_at = forms.DateTimeField(
        label="Collected at",
        widget=DateTimeInput(),
        input_formats=DATETIME_FORMATS,
        help_text="Facility time. Not in the future, not before the admission.",
    )
    collected_by = StaffChoiceField(
        label="Collected by", queryset=User.objects.none(), empty_label=None
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self, *args: Any, patient: Patient, ordered: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collected_by"].queryset = collectors(patient)  # type: ignore[attr-defined]
        self.ordered = ordered
        # The ordered substances first, then the rest of the panel.
        names = [*ordered, *(s for s in rules.SUBSTANCES if s not in ordered)]
        for substance in names:
            label = rules.SUBSTANCES[substance]
            self.fields[result_field(substance)] = forms.ChoiceField(
                label=f"{label} (ordered)" if substance in ordered else label,
                choices=RESULT_CHOICES,
                required=False,
            )

    def result_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("result_")]

    def chosen_results(self) -> dict[str, str]:
        return {
            name.removeprefix("result_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("result_") and value
        }


class PrescriptionForm(forms.Form):
    medication_class = forms.ChoiceField(
        label="Medication class",
        choices=Prescription.MedicationClass.choices,
        help_text="What it explains: a positive for this medication is then expected.",
    )
    name = forms.CharField(
        label="Medication as written", max_length=120, help_text="For example “buprenorphine 8 mg”."
    )
    prescriber = forms.CharField(label="Prescriber (optional)", max_length=120, required=False)
    start_date = forms.DateField(label="First day", widget=DateInput())
    end_date = forms.DateField(
        label="Last day (optional)",
        widget=DateInput(),
        required=False,
        help_text="Leave empty while it is still prescribed.",
    )


class OrderForm(forms.Form):
    specimen = forms.ChoiceField(
        label="Specimen", choices=DrugTest.Specimen.choices, widget=forms.RadioSelect
    )
    observed = forms.BooleanField(label="Observed collection required", required=False)
    panel = forms.ChoiceField(label="Panel", choices=PANEL_CHOICES, widget=forms.RadioSelect)
    substances = forms.MultipleChoiceField(
        label="Substances (only for “Choose the substances”)",
        choices=SUBSTANCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=[
            (rules.Frequency.FIXED.value, "The same days every week"),
            (rules.Frequency.RANDOM.value, "Random days each week (the patient is not told)"),
        ],
        widget=forms.RadioSelect,
    )
    weekdays = forms.MultipleChoiceField(
        label="Days",
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Fixed: the days of collection. Random: the days a collection may fall on "
        "(the days the patient attends).",
    )
    per_week = forms.IntegerField(
        label="Random collections a week",
        required=False,
        min_value=1,
        max_value=7,
        help_text="Only for random days.",
    )
    start_date = forms.DateField(label="From", widget=DateInput())
    end_date = forms.DateField(
        label="Until (optional)",
        required=False,
        widget=DateInput(),
        help_text="Leave empty to run until it is stopped or the patient is discharged.",
    )
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def weekday_numbers(self) -> list[int]:
        return [int(d) for d in self.cleaned_data.get("weekdays") or []]


class StopOrderForm(forms.Form):
    last_day = forms.DateField(label="Last day of collections", widget=DateInput())
    reason = forms.CharField(label="Why it stops", max_length=300)


class NotCollectedForm(forms.Form):
    due_date = forms.DateField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label="What happened",
        choices=[
            (Collection.Status.NOT_COLLECTED.value, "Not collected"),
            (Collection.Status.REFUSED.value, "Refused by the patient"),
        ],
    )
    reason = forms.CharField(
        label="Reason", max_length=300, help_text="For example “did not attend today”."
    )


class ResponseForm(forms.Form):
    actions = forms.MultipleChoiceField(
        label="What was done",
        choices=list(rules.RESPONSE_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(
        label="The clinical response",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you and the patient said and decided. Needed when no action is taken.",
    )


class SponsorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class SlipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.description or obj.original_name} (uploaded {obj.uploaded_at:%m/%d/%Y})"


class MeetingForm(forms.Form):
    date = forms.DateField(label="Date", widget=DateInput(), help_text="Not in the future.")
    fellowship = forms.ChoiceField(label="Fellowship", choices=list(rules.FELLOWSHIPS.items()))
    fellowship_other = forms.CharField(
        label="Other fellowship's name", required=False, max_length=120
    )
    name = forms.CharField(
        label="Meeting name (optional)",
        required=False,
        max_length=120,
        help_text="For example “Tuesday Night Big Book”.",
    )
    setting = forms.ChoiceField(label="Where", choices=list(rules.MEETING_SETTINGS.items()))
    place = forms.CharField(label="Place (optional)", required=False, max_length=120)
    minutes = forms.IntegerField(label="Length (minutes)", initial=60)
    verification = forms.ChoiceField(
        label="How we know",
        choices=list(rules.VERIFICATIONS.items()),
        widget=forms.RadioSelect,
    )
    slip = SlipChoiceField(
        label="Signed slip",
        queryset=Attachment.objects.none(),
        required=False,
        help_text="One of the patient's documents already uploaded.",
    )
    slip_upload = forms.FileField(
        label="…or upload the signed slip",
        required=False,
        help_text="A PDF, JPEG or PNG photo of the slip; it goes into the chart's documents.",
    )
    sponsor_contact = SponsorChoiceField(
        label="Sponsor (from the support system)",
        queryset=SupportContact.objects.none(),
        required=False,
    )
    sponsor_name = forms.CharField(
        label="Sponsor (if not in the support system)", required=False, max_length=120
    )
    note = forms.CharField(label="Note (optional)", required=False, max_length=300)

    def __init__(
        self,
        *args: Any,
        sponsors: QuerySet[SupportContact],
        slips: QuerySet[Attachment],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sponsor_contact"].queryset = sponsors  # type: ignore[attr-defined]
        self.fields["slip"].queryset = slips  # type: ignore[attr-defined]


class TestChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_specimen_display()} test, {obj.collected_at:%m/%d/%Y %H:%M}"


class RelapseForm(forms.Form):
    date = forms.DateField(
        label="Date of use", widget=DateInput(), help_text="Your best estimate; not in the future."
    )
    substances = forms.MultipleChoiceField(
        label="Substances",
        choices=list(rules.RELAPSE_SUBSTANCES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    substances_other = forms.CharField(label="Other substance", required=False, max_length=120)
    circumstances = forms.CharField(
        label="Circumstances (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Where, with whom, how much, for how long.",
    )
    triggers = forms.CharField(
        label="Triggers (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="People, places, feelings or situations that led to it.",
    )
    came_to_light = forms.ChoiceField(
        label="How it came to light",
        choices=list(rules.CAME_TO_LIGHT.items()),
        widget=forms.RadioSelect,
    )
    drug_test = TestChoiceField(
        label="The drug test", queryset=DrugTest.objects.none(), required=False
    )
    responses = forms.MultipleChoiceField(
        label="Response",
        choices=list(rules.RELAPSE_RESPONSES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    response_other = forms.CharField(label="Other response", required=False, max_length=300)
    reset_sobriety = forms.BooleanField(
        label="Reset the sobriety date (the previous date is kept in the history)",
        required=False,
        initial=True,
    )
    new_sobriety_date = forms.DateField(
        label="New sobriety date (optional)",
        required=False,
        widget=DateInput(),
        help_text="Leave empty for the day after the date of use.",
    )

    def __init__(self, *args: Any, tests: QuerySet[DrugTest], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["drug_test"].queryset = tests  # type: ignore[attr-defined]


class SobrietyForm(forms.Form):
    sobriety_date = forms.DateField(
        label="Sobriety date",
        widget=DateInput(),
        help_text="The first day without use.",
    )
    reason_text = forms.CharField(
        label="Why it changes",
        required=False,
        max_length=300,
        help_text="Needed when a date is already recorded, for example “patient recalled a "
        "later use”.",
    )


MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Laboratory results file (CSV)",
        help_text="Up to 2 MB. Columns: mrn, collected_at, specimen, substance, result; "
        "optional: observed, note. One row per substance.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                "The file is larger than 2 MB. Split it into smaller files and import each."
            )
        return upload


class ConfirmImportForm(forms.Form):
    # A hidden textarea keeps the line breaks a hidden input might lose.
    content = forms.CharField(
        widget=forms.Textarea(attrs={"hidden": True, "aria-hidden": "true"}),
        max_length=MAX_UPLOAD_BYTES,
        strip=False,
    )
    name = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
