"""The upload form and the removal confirmation: they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from openiop.attachments import rules

ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="File",
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": "Choose the file to attach.", "empty": rules.EMPTY},
    )
    description = forms.CharField(
        label="What is it? (optional)",
        max_length=200,
        required=False,
        help_text="For example: “Signed meeting slip, week of 03/02” or “Referral letter”.",
    )

    def __init__(self, *args: Any, limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"A {rules.ACCEPTED_TEXT} file of up to {rules.limit_text(limit)}. A phone photo or "
            "a scan works; other kinds of file are refused."
        )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label="Why is it removed?",
        max_length=200,
        min_length=3,
        help_text="For example: “Scanned into the wrong chart” or “A clearer copy was added”.",
        error_messages={"required": rules.REASON_NEEDED, "min_length": rules.REASON_NEEDED},
    )
