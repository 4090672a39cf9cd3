from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.patients import consent_rules, rules
from openiop.patients.models import CareTeamMember, Consent, Disclosure, Patient, SupportContact
from openiop.patients.services import MIN_REASON_LENGTH, PATIENT_FIELDS


class DateInput(forms.DateInput):
    input_type = "date"


class PatientForm(forms.ModelForm):
    confirm_not_duplicate = forms.BooleanField(
        required=False,
        label="I checked: this is a different person",
        help_text="Only tick this after comparing with the records listed above.",
    )

    class Meta:
        model = Patient
        fields = [f for f in PATIENT_FIELDS if f != "status"] + ["status"]
        widgets = {
            "date_of_birth": DateInput(format="%Y-%m-%d"),
            "pronouns": forms.TextInput(attrs={"list": "pronoun-options"}),
            "language": forms.TextInput(attrs={"list": "language-options"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "state": forms.TextInput(attrs={"size": 2, "maxlength": 2}),
        }
        help_texts = {
            "mrn": "Leave empty to assign the next number automatically.",
            "sexual_orientation": "Optional and self-identified. Only the clinical team sees it.",
            "phone": "10 digits with area code, e.g. 555-010-0123.",
        }

    def __init__(
        self, *args: Any, show_sensitive: bool = True, creating: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mrn"].required = False
        if not creating:
            self.fields["mrn"].required = True
            self.fields["mrn"].help_text = ""
            del self.fields["confirm_not_duplicate"]
        if not show_sensitive:
            for name in ("sexual_orientation", "lgbtq_group_opt_in", "survivor_group_opt_in"):
                del self.fields[name]
        for field in self.fields.values():
            if field.required:
                field.widget.attrs["required"] = True
            choices = getattr(field, "choices", None)
            if choices and isinstance(field, forms.TypedChoiceField) and choices[0][0] == "":
                # Plain words instead of Django's "---------".
                field.choices = [
                    ("", "Choose…" if field.required else "Not recorded"),
                    *choices[1:],
                ]

    def clean_date_of_birth(self) -> dt.date:
        value: dt.date = self.cleaned_data["date_of_birth"]
        problem = rules.birth_date_error(value, timezone.localdate())
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_phone(self) -> str:
        try:
            return rules.normalize_phone(self.cleaned_data.get("phone", ""))[0]
        except rules.PhoneError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_mrn(self) -> str:
        return (self.cleaned_data.get("mrn") or "").strip().upper()

    def patient_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k in PATIENT_FIELDS}


class EmergencyContactForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=200, required=False)
    relationship = forms.CharField(max_length=60, required=False)
    phone = forms.CharField(
        max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    DELETE = forms.BooleanField(required=False, label="Remove")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        filled = [data.get(k) for k in ("name", "relationship", "phone")]
        if data.get("DELETE") or not any(filled):
            return data
        if not all(filled):
            raise forms.ValidationError(
                "Give the contact's name, relationship and phone number, or leave all three empty."
            )
        try:
            data["phone"] = rules.normalize_phone(data["phone"])[0]
        except rules.PhoneError as exc:
            self.add_error("phone", str(exc))
        return data


EmergencyContactFormSet = forms.formset_factory(EmergencyContactForm, extra=0, max_num=5)


def contacts_from(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    contacts = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("name"):
            continue
        contacts.append({k: data.get(k) for k in ("id", "name", "relationship", "phone")})
    return contacts


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Find a patient",
        max_length=100,
        required=False,
        help_text="Part of a name, a date of birth (MM/DD/YYYY), an MRN or a phone number.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autofocus": True}),
    )


class BreakGlassForm(forms.Form):
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.none(), empty_label="Choose a facility"
    )
    mrn = forms.CharField(label="Medical record number", max_length=20)
    reason = forms.CharField(
        label="Why do you need this chart now?",
        min_length=MIN_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Your reason, your name and every page you open are recorded and reviewed by the "
            "clinical director."
        ),
    )
    understood = forms.BooleanField(
        label="I understand this access is recorded and reviewed.", required=True
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.filter(  # type: ignore[attr-defined]
            organization=user.organization, is_active=True
        )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Review note", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class DeletePatientForm(forms.Form):
    reason = forms.CharField(
        label="Why is this record being deleted?",
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: registered twice by mistake, the other record is SUN-100234.",
    )


class CareTeamForm(forms.Form):
    user = forms.ModelChoiceField(
        label="Staff member", queryset=User.objects.none(), empty_label="Choose a staff member"
    )
    role = forms.ChoiceField(label="Role on the care team", choices=CareTeamMember.Role.choices)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, facilities=patient.facility_id
        ).order_by("last_name", "first_name")


# --- support system, consents and releases -----------------------------------------------------


def _category_choices(only: frozenset[str] | None = None) -> list[tuple[str, str]]:
    return [
        (code, label[:1].upper() + label[1:])
        for code, label in consent_rules.CATEGORIES.items()
        if only is None or code in only
    ]


class SupportContactForm(forms.ModelForm):
    class Meta:
        model = SupportContact
        fields = [
            "name",
            "relationship_kind",
            "relationship",
            "phone",
            "email",
            "address",
            "in_recovery",
            "is_emergency_contact",
            "family_program_participant",
            "is_sponsor",
            "notes",
        ]
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "relationship": "Optional, e.g. 'aunt who raised me', 'AA sponsor since 2019'.",
            "phone": "Needed for an emergency contact. 10 digits, e.g. 555-010-0123.",
            "in_recovery": "Whether they are in recovery themselves, if the patient says.",
            "notes": "Only what the team needs, e.g. best time to call.",
        }


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind of consent", choices=Consent.Kind.choices, widget=forms.RadioSelect
    )
    categories = forms.MultipleChoiceField(
        label="Information the patient agrees to share",
        choices=_category_choices(),
        widget=forms.CheckboxSelectMultiple,
    )
    information_description = forms.CharField(
        label="Description of the information (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Be specific, e.g. 'attendance and drug-test results since admission'. "
        "Left empty, the information chosen above is used.",
    )
    support_contact = forms.ModelChoiceField(
        label="Recipient from the support system",
        queryset=SupportContact.objects.none(),
        required=False,
        empty_label="Not in the support system",
        help_text="For a named-recipient consent only.",
    )
    recipient_name = forms.CharField(
        label="Recipient's name",
        max_length=200,
        required=False,
        help_text="A named-recipient consent only. The person or organization receiving it.",
    )
    recipient_organization = forms.CharField(
        label="Recipient's organization", max_length=200, required=False
    )
    purpose = forms.CharField(
        label="Purpose", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )
    expiry_kind = forms.ChoiceField(
        label="The consent ends", choices=Consent.Expiry.choices, widget=forms.RadioSelect
    )
    expires_on = forms.DateField(
        label="End date", required=False, widget=DateInput(format="%Y-%m-%d")
    )
    disclosing_party = forms.CharField(label="Who may disclose", max_length=200)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"disclosing_party": patient.facility.name, "kind": Consent.Kind.NAMED}
        )
        super().__init__(*args, **kwargs)
        self.fields["support_contact"].queryset = patient.support_contacts.filter(  # type: ignore[attr-defined]
            active=True
        )


class SignConsentForm(forms.Form):
    signer = forms.ChoiceField(
        label="Who signs", choices=Consent.Signer.choices, widget=forms.RadioSelect
    )
    representative_name = forms.CharField(
        label="Representative's full name", max_length=200, required=False
    )
    representative_authority = forms.CharField(
        label="Representative's authority",
        max_length=100,
        required=False,
        help_text="e.g. parent of a minor, legal guardian, health care power of attorney.",
    )
    typed_signature = forms.CharField(
        label="Signer types their full name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    attested = forms.BooleanField(
        label="I, the signer, have read this consent (or had it read to me) and my typed name "
        "is my electronic signature.",
        required=False,
    )


class RevokeConsentForm(forms.Form):
    method = forms.ChoiceField(
        label="How the revocation was received",
        choices=Consent.RevocationMethod.choices,
        widget=forms.RadioSelect,
    )
    revoked_on = forms.DateField(
        label="Date received", widget=DateInput(format="%Y-%m-%d"), required=False
    )
    note = forms.CharField(
        label="What the patient said or wrote",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required for a verbal revocation: their words and who heard them.",
    )


class ReleaseForm(forms.Form):
    """Release records to an outside party: whom, what, why, how — checked against consents."""

    recipient = forms.ChoiceField(
        label="Recipient",
        required=False,
        help_text="Choose a recipient an active consent names, or type one below.",
    )
    recipient_name = forms.CharField(
        label="Recipient's name (when typed)",
        max_length=200,
        required=False,
        help_text="For a treating provider or payer under the TPO consent, name them here.",
    )
    recipient_organization = forms.CharField(
        label="Recipient's organization", max_length=200, required=False
    )
    categories = forms.MultipleChoiceField(
        label="Information to release", widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.CharField(label="Purpose", widget=forms.Textarea(attrs={"rows": 2}))
    method = forms.ChoiceField(
        label="How it is released", choices=Disclosure.Method.choices, initial="pdf"
    )
    emergency = forms.BooleanField(
        label="Medical emergency (§2.51): release to medical personnel without consent",
        required=False,
    )
    exception_note = forms.CharField(
        label="Emergency: who received it and why",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Name, facility and the emergency. It goes in the accounting of disclosures.",
    )

    def __init__(
        self,
        *args: Any,
        consents: list[Consent],
        only: frozenset[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.consents = {c.pk: c for c in consents}
        choices: list[tuple[str, str]] = [("", "Type the recipient below")]
        if any(c.kind == Consent.Kind.TPO for c in consents):
            choices += [
                (f"tpo:{code}", f"TPO consent: {label}")
                for code, label in consent_rules.TPO_CLASSES.items()
            ]
        choices += [
            (f"consent:{c.pk}", f"{c.recipient_label} — {c.reference}")
            for c in consents
            if c.kind == Consent.Kind.NAMED
        ]
        self.fields["recipient"].choices = choices  # type: ignore[attr-defined]
        self.fields["categories"].choices = _category_choices(only)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("recipient") or ""
        data["consent"], data["tpo_class"] = None, ""
        if choice.startswith("consent:"):
            consent = self.consents.get(int(choice.split(":", 1)[1]))
            if consent is None:
                self.add_error("recipient", "Choose a recipient from the list.")
                return data
            data["consent"] = consent
            data["recipient_name"] = consent.recipient_name
            data["recipient_organization"] = consent.recipient_organization
        elif choice.startswith("tpo:"):
            data["tpo_class"] = choice.split(":", 1)[1]
        if not data.get("recipient_name") and not data.get("consent"):
            self.add_error("recipient_name", "Say who receives the records.")
        return data
