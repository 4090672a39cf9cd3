"""Forms of the Discharge tab's readiness pages: the discharge plan and a transfer.

They parse and label; the services (``readiness.save_discharge_plan``, ``transfer.transfer``)
decide, and their field-keyed messages land on these fields (``plans.forms.apply_errors``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import Program, Track
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.readiness import PLANNED_STEP_DOWNS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DischargePlanForm(forms.Form):
    planned_step_down = forms.ChoiceField(
        label="Planned next step of care",
        choices=[("", "Not decided yet"), *PLANNED_STEP_DOWNS],
        required=False,
        help_text="What you and the person plan after this program. It can change.",
    )
    planned_date = forms.DateField(
        label="Planned discharge date",
        required=False,
        widget=DateInput(),
        help_text="Leave empty while it is not known. Most people need at least 90 days.",
    )
    step_down_provider = forms.CharField(
        label="Stepping down to (program or provider)",
        max_length=200,
        required=False,
        help_text="If known, e.g. the outpatient group or the recovery residence.",
    )
    housing_ready = forms.BooleanField(
        label="Safe, stable housing to go to — confirmed with the person", required=False
    )
    housing_note = forms.CharField(
        label="Housing: what you know",
        max_length=300,
        required=False,
        help_text="e.g. back with family, sober-living bed from 05/01, still looking.",
    )
    work_school_ready = forms.BooleanField(
        label="Work, school or a daily structure — confirmed with the person", required=False
    )
    work_school_note = forms.CharField(
        label="Work or school: what you know",
        max_length=300,
        required=False,
        help_text="e.g. back at work full time, enrolled for the fall term, volunteering.",
    )


class ProgramChoiceField(forms.ModelChoiceField[Program]):
    def label_from_instance(self, obj: Program) -> str:
        return f"{obj.name} — level {obj.level_of_care} ({obj.get_level_of_care_display()})"


class TrackChoiceField(forms.ModelChoiceField[Track]):
    def label_from_instance(self, obj: Track) -> str:
        return f"{obj.program.name}: {obj}"


def transfer_programs(episode: EpisodeOfCare) -> QuerySet[Program]:
    """The programs the person may move to: the facility's other active programs."""
    return (
        Program.objects.filter(facility_id=episode.facility_id, is_active=True)
        .exclude(pk=episode.program_id)
        .order_by("level_of_care", "name")
    )


class TransferForm(forms.Form):
    to_program = ProgramChoiceField(
        label="Move to the program",
        queryset=Program.objects.none(),
        empty_label="Choose a program",
    )
    to_track = TrackChoiceField(
        label="Track in the new program",
        queryset=Track.objects.none(),
        required=False,
        empty_label="No track (choose later)",
        help_text="Only a track of the program chosen above.",
    )
    changed_on = forms.DateField(
        label="First day in the new program",
        widget=DateInput(),
        help_text="Not before the admission or the last change, not in the future.",
    )
    reason = forms.CharField(
        label="Why the level of care changes",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="e.g. stable for 4 weeks, steps down as planned; or needs more structure.",
    )

    def __init__(self, *args: Any, episode: EpisodeOfCare, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        programs = transfer_programs(episode)
        self.fields["to_program"].queryset = programs  # type: ignore[attr-defined]
        self.fields["to_track"].queryset = (  # type: ignore[attr-defined]
            Track.objects.filter(program__in=programs)
            .select_related("program")
            .order_by("program__level_of_care", "program__name", "start_time")
        )
