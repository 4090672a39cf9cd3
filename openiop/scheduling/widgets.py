"""The date and time boxes of the scheduling forms: the browser's own pickers
(``type="date"`` and ``type="time"``), with the value written the way those pickers read it
(ISO day, 24-hour clock), so a form sent back with an error shows what was typed."""

from __future__ import annotations

from typing import Any

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")
