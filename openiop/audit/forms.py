from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.selectors import AuditFilter


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(
        label="Staff member", queryset=User.objects.none(), required=False, empty_label="Anyone"
    )
    patient = forms.IntegerField(
        label="Patient number",
        required=False,
        min_value=1,
        help_text="The number in the chart address (/patients/123/), not the MRN.",
    )
    action = forms.ChoiceField(
        label="What happened",
        choices=[("", "Anything"), *AuditEvent.Action.choices],
        required=False,
    )
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(facilities__staff=user)
            .distinct()
            .order_by("last_name", "first_name")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end date is before the start date.")
        return data

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            actor_id=data["actor"].pk if data.get("actor") else None,
            patient_id=data.get("patient"),
            action=data.get("action") or "",
            start=data.get("start"),
            end=data.get("end"),
        )
