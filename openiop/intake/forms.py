from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.core import teds
from openiop.intake import rules
from openiop.intake.models import ContactAttempt, Inquiry, Screening, Stage
from openiop.patients import rules as patient_rules
from openiop.patients.forms import PatientForm

CONCERNS = [("substances", "Alcohol or drugs"), ("mental_health", "Mental health")]
YES_NO = [("yes", "Yes"), ("no", "No")]


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


def _clean_phone(value: str) -> str:
    try:
        return patient_rules.normalize_phone(value or "")[0]
    except patient_rules.PhoneError as exc:
        raise forms.ValidationError(str(exc)) from exc


class _ContactFields(forms.Form):
    """Name, phone and/or e-mail, and what the person told us (public and staff forms)."""

    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    phone = forms.CharField(
        label="Phone",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text="Phone or e-mail, or both. For example 555-010-0123.",
    )
    email = forms.EmailField(
        label="E-mail", required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    who_needs_help = forms.ChoiceField(
        label="Who needs help?",
        choices=Inquiry.WhoNeedsHelp.choices,
        widget=forms.RadioSelect,
        initial=Inquiry.WhoNeedsHelp.SELF,
    )
    person_name = forms.CharField(
        label="Their name (if it is someone you care about)", max_length=200, required=False
    )
    concerns = forms.MultipleChoiceField(
        label="What is the help for?",
        choices=CONCERNS,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose one or both.",
        error_messages={"required": "Choose at least one: alcohol or drugs, or mental health."},
    )
    insurance_payer = forms.CharField(
        label="Insurance (optional)",
        max_length=100,
        required=False,
        help_text="The name of the health plan, or “none”.",
    )
    insurance_member_id = forms.CharField(
        label="Member ID (optional)", max_length=40, required=False
    )
    best_time_to_call = forms.ChoiceField(
        label="Best time to call", choices=Inquiry.BestTime.choices, initial=Inquiry.BestTime.ANY
    )
    message = forms.CharField(
        label="Anything you want us to know (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("phone") and not data.get("email") and "phone" not in self.errors:
            self.add_error("phone", "Give a phone number or an e-mail address so we can reach you.")
        return data

    def inquiry_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "concerns"}
        concerns = self.cleaned_data.get("concerns") or []
        data["concern_substances"] = "substances" in concerns
        data["concern_mental_health"] = "mental_health" in concerns
        return data


class HelpRequestForm(_ContactFields):
    """The public help request. ``website`` is the honeypot: people never see or fill it."""

    consent_to_contact = forms.BooleanField(
        label="You may call, text or e-mail me about this request.",
        error_messages={"required": "We can only reach you if you tick this box."},
    )
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, facilities: list[Facility], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.facilities = facilities
        if len(facilities) > 1:
            self.fields["facility"] = forms.ModelChoiceField(
                label="Which location?",
                queryset=Facility.objects.filter(pk__in=[f.pk for f in facilities]),
                empty_label="Choose…",
            )
            self.order_fields(["facility"])
        for field in self.fields.values():
            if field.required and not isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["required"] = True

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website", "").strip())

    def chosen_facility(self) -> Facility:
        if "facility" in self.fields:
            facility: Facility = self.cleaned_data["facility"]
            return facility
        return self.facilities[0]

    def inquiry_data(self) -> dict[str, Any]:
        data = super().inquiry_data()
        data.pop("website", None)
        data.pop("facility", None)
        return data


class StaffInquiryForm(_ContactFields):
    """An inquiry taken by phone, at the door or from a referral."""

    source = forms.ChoiceField(
        label="How did they reach us?",
        choices=[c for c in Inquiry.Source.choices if c[0] != Inquiry.Source.WEB_FORM],
        initial=Inquiry.Source.PHONE,
    )
    referred_by = forms.CharField(
        label="Referred by (if a referral)", max_length=200, required=False
    )
    referral_source = forms.TypedChoiceField(
        label="Referral source (TEDS)",
        choices=[("", "Not recorded"), *teds.ReferralSource.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    consent_to_contact = forms.BooleanField(
        label="They agreed that we call, text or e-mail them back", required=False
    )


class MoveForm(forms.Form):
    """The board's "Move to…" (stages that need nothing else)."""

    stage = forms.ChoiceField(label="Move to", choices=[])

    def __init__(self, *args: Any, current: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [  # type: ignore[attr-defined]
            (s, rules.STAGE_LABELS[s]) for s in (*rules.PIPELINE, rules.UNREACHABLE) if s != current
        ]


class StageForm(forms.Form):
    stage = forms.ChoiceField(label="New stage", choices=Stage.choices)
    referred_to = forms.CharField(
        label="Referred to (for Referred elsewhere)",
        max_length=200,
        required=False,
        help_text="The program or provider, e.g. “Harbor Detox Center”.",
    )
    not_admitted_reason = forms.CharField(
        label="Why not admitted (for Not admitted)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(label="Note (optional)", max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage = data.get("stage")
        if stage == Stage.REFERRED and not (data.get("referred_to") or "").strip():
            self.add_error("referred_to", "Say where the person was referred.")
        if stage == Stage.NOT_ADMITTED and not (data.get("not_admitted_reason") or "").strip():
            self.add_error("not_admitted_reason", "Say why the person was not admitted.")
        return data


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(
        label="Owner", queryset=User.objects.none(), required=False, empty_label="Nobody yet"
    )
    next_follow_up = forms.DateField(label="Next follow-up", required=False, widget=DateInput)

    def __init__(self, *args: Any, owners: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self.today = today

    def clean_next_follow_up(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("next_follow_up")
        if value is not None and value < self.today:
            raise forms.ValidationError("A follow-up date is today or later.")
        return value


class FollowUpForm(forms.Form):
    next_follow_up = forms.DateField(label="Next follow-up", required=False, widget=DateInput)


class ScheduleForm(forms.Form):
    when = forms.DateTimeField(
        label="Assessment date and time",
        widget=DateTimeInput(format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class ContactAttemptForm(forms.Form):
    method = forms.ChoiceField(
        label="How", choices=ContactAttempt.Method.choices, initial=ContactAttempt.Method.PHONE
    )
    outcome = forms.ChoiceField(
        label="What happened", choices=[("", "Choose…"), *ContactAttempt.Outcome.choices]
    )
    note = forms.CharField(
        label="Note (optional)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_follow_up = forms.DateField(
        label="Next follow-up (optional)", required=False, widget=DateInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Unique ids: the inquiry page also shows the stage form (note) and the owner form
        # (next_follow_up), whose default ids would be id_note / id_next_follow_up too.
        kwargs.setdefault("auto_id", "contact_%s")
        super().__init__(*args, **kwargs)


class LinkPatientForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)


class RegisterPatientForm(PatientForm):
    """Registration from an inquiry: the fields registration needs, started from the inquiry."""

    KEEP = (
        "first_name",
        "middle_name",
        "last_name",
        "preferred_name",
        "date_of_birth",
        "sex_at_birth",
        "gender_identity",
        "pronouns",
        "language",
        "needs_interpreter",
        "phone",
        "email",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "confirm_not_duplicate",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("show_sensitive", False)
        super().__init__(*args, creating=True, **kwargs)
        for name in list(self.fields):
            if name not in self.KEEP:
                del self.fields[name]


def registration_initial(inquiry: Inquiry) -> dict[str, Any]:
    """The caller's name, or the loved one's when they gave it (the form stays editable)."""
    first, last = inquiry.first_name, inquiry.last_name
    if inquiry.who_needs_help == Inquiry.WhoNeedsHelp.LOVED_ONE:
        first, last, phone, email = "", "", "", ""
        if inquiry.person_name:
            parts = inquiry.person_name.split()
            first, last = parts[0], " ".join(parts[1:])
        return {"first_name": first, "last_name": last, "phone": phone, "email": email}
    return {"first_name": first, "last_name": last, "phone": inquiry.phone, "email": inquiry.email}


class ListFilterForm(forms.Form):
    stage = forms.ChoiceField(
        label="Stage",
        required=False,
        choices=[
            ("", "Any stage"),
            ("open", "Still in the pipeline"),
            ("closed", "Closed"),
            *Stage.choices,
        ],
    )
    owner = forms.ChoiceField(label="Owner", required=False, choices=[])
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {str(u.pk): u for u in owners}
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            ("none", "Nobody yet"),
            *[(str(u.pk), u.display_name) for u in owners],
        ]


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)

    def period(self, today: dt.date, default_days: int = 90) -> tuple[dt.date, dt.date]:
        start = today - dt.timedelta(days=default_days - 1)
        end = today
        if self.is_valid():
            start = self.cleaned_data.get("start") or start
            end = self.cleaned_data.get("end") or end
        if end < start:
            start, end = end, start
        return start, end


class ScreeningForm(forms.Form):
    withdrawal_instrument = forms.ChoiceField(
        label="Withdrawal scale",
        choices=Screening.WithdrawalInstrument.choices,
        widget=forms.RadioSelect,
        initial=Screening.WithdrawalInstrument.NONE,
        help_text=(
            f"CIWA-Ar {rules.CIWA_AR_THRESHOLD} or more, or COWS {rules.COWS_THRESHOLD} or more: "
            "withdrawal management first."
        ),
    )
    withdrawal_score = forms.IntegerField(
        label="Withdrawal scale total", required=False, min_value=0, max_value=rules.CIWA_AR_MAX
    )
    cssrs_1 = forms.ChoiceField(
        label="1. In the past month, have you wished you were dead or wished you could go to "
        "sleep and not wake up?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_2 = forms.ChoiceField(
        label="2. In the past month, have you actually had any thoughts of killing yourself?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_3 = forms.ChoiceField(
        label="3. Have you been thinking about how you might do this?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_4 = forms.ChoiceField(
        label="4. Have you had these thoughts and had some intention of acting on them?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_5 = forms.ChoiceField(
        label="5. Have you started to work out or worked out the details of how to kill "
        "yourself? Do you intend to carry out this plan?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_6 = forms.ChoiceField(
        label="6. Have you ever done anything, started to do anything, or prepared to do "
        "anything to end your life?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    cssrs_6_when = forms.ChoiceField(
        label="If yes to 6: when?",
        required=False,
        choices=[
            ("past_3_months", "In the past 3 months"),
            ("more_than_3_months_ago", "More than 3 months ago"),
        ],
        widget=forms.RadioSelect,
    )
    living_situation = forms.ChoiceField(
        label="Living situation", choices=[("", "Choose…"), *Screening.LivingSituation.choices]
    )
    has_support_system = forms.ChoiceField(
        label="Has a support system (family, friends, sponsor…)?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    support_who = forms.CharField(label="Who supports them", max_length=200, required=False)
    motivation = forms.ChoiceField(
        label="Motivation", choices=[("", "Choose…"), *Screening.Motivation.choices]
    )
    track = forms.ChoiceField(
        label="Which track can they attend?",
        choices=Screening.Track.choices,
        widget=forms.RadioSelect,
    )
    needs_24h_supervision = forms.ChoiceField(
        label="Needs 24-hour supervision?", choices=YES_NO, widget=forms.RadioSelect
    )
    unstable = forms.ChoiceField(
        label="Medical or psychiatric instability that needs a higher level of care?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    recent_stay = forms.ChoiceField(
        label="Recent inpatient or residential stay",
        choices=Screening.RecentStay.choices,
        widget=forms.RadioSelect,
        initial=Screening.RecentStay.NONE,
    )
    recent_stay_level = forms.ChoiceField(
        label="Level of that stay",
        required=False,
        choices=[("", "Not applicable"), *Screening.StayLevel.choices],
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "As recommended"), *Screening.Outcome.choices],
        help_text="Leave “As recommended” unless your clinical judgement differs.",
    )
    override_reason = forms.CharField(
        label="Why a different outcome", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    CSSRS = ("cssrs_1", "cssrs_2", "cssrs_3", "cssrs_4", "cssrs_5", "cssrs_6")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problem = rules.withdrawal_score_error(
            data.get("withdrawal_instrument", "none"), data.get("withdrawal_score")
        )
        if problem and "withdrawal_score" not in self.errors:
            self.add_error("withdrawal_score", problem)
        if data.get("cssrs_6") == "yes" and not data.get("cssrs_6_when"):
            self.add_error("cssrs_6_when", "Say when: in the past 3 months or before.")
        if data.get("recent_stay") not in (None, "", "none") and not data.get("recent_stay_level"):
            self.add_error("recent_stay_level", "Say what kind of stay it was.")
        return data

    def screening_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        # As measures scoring takes them: item number → True/False, and when for item 6.
        answers: dict[str, Any] = {
            name.removeprefix("cssrs_"): data[name] == "yes" for name in self.CSSRS
        }
        if data.get("cssrs_6") == "yes":
            answers["6_when"] = data.get("cssrs_6_when")
        return {
            "withdrawal_instrument": data["withdrawal_instrument"],
            "withdrawal_score": data.get("withdrawal_score"),
            "cssrs_answers": answers,
            "living_situation": data["living_situation"],
            "has_support_system": data["has_support_system"] == "yes",
            "support_who": data.get("support_who", ""),
            "motivation": data["motivation"],
            "track": data["track"],
            "needs_24h_supervision": data["needs_24h_supervision"] == "yes",
            "unstable": data["unstable"] == "yes",
            "recent_stay": data.get("recent_stay") or "none",
            "recent_stay_level": data.get("recent_stay_level") or "",
            "outcome": data.get("outcome") or "",
            "override_reason": data.get("override_reason", ""),
            "notes": data.get("notes", ""),
        }


def local_datetime(value: dt.datetime, facility: Facility) -> dt.datetime:
    """A datetime typed in the facility's time zone (forms parse it in the server's zone)."""
    naive = timezone.make_naive(value) if timezone.is_aware(value) else value
    return naive.replace(tzinfo=facility.zone)
