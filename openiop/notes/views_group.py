"""The group-note screen: one page for a whole session (12 to 15 attendees).

The role is checked first (403); the session must be at one of the user's facilities (404
otherwise), as on the attendance screen. The shared part is written once at the top, then one
compact card per attendee the user may see; others who came are counted, never named, and
people who did not attend get no note. Saving is one call to ``services.save_group_note``
(all parts or none); a page opened before someone else saved is refused as stale. Signing
signs what was last saved. Every patient shown is recorded in the audit trail. The page costs
the same number of queries for 3 or 15 attendees.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openiop.accounts.models import User
from openiop.accounts.selectors import facilities_for
from openiop.audit.services import record_list
from openiop.notes import rules, selectors, services
from openiop.notes.forms import (
    AddendumForm,
    CosignForm,
    EntryForm,
    SharedForm,
    SignForm,
    apply_errors,
    apply_group_errors,
)
from openiop.notes.models import GroupNote, GroupNoteEntry
from openiop.notes.selectors import GroupNoteScreen, ScreenRow
from openiop.notes.views_common import cosignature_of, submit_addendum, submit_cosign, user_of
from openiop.scheduling import selectors as scheduling_selectors
from openiop.scheduling.models import Session

SECTION = "group note screen"


def _session(user: User, pk: int) -> Session:
    """The role (403), then the session at one of the user's facilities (404)."""
    selectors.require_writer(user)
    facility_ids = list(facilities_for(user).values_list("pk", flat=True))
    session = scheduling_selectors.session_for(user, facility_ids, pk)
    if session is None:
        raise Http404("No such session at your facilities.")
    return session


def _shared_initial(screen: GroupNoteScreen) -> dict[str, Any]:
    note = screen.note
    if note is None:
        return {"topic": screen.session.topic, "revision": ""}
    return {
        "topic": note.topic,
        "interventions": note.interventions,
        "process": note.process,
        "late_reason": note.late_reason,
        "revision": note.updated_at.isoformat(),
    }


class AttendeeCard:
    """One attendee on the screen: their part's form, or their part as signed."""

    def __init__(self, row: ScreenRow, data: Any, addendum_data: Any) -> None:
        self.row = row
        self.patient = row.patient
        self.entry: GroupNoteEntry | None = row.entry
        self.form = EntryForm(
            data,
            prefix=f"entry-{row.patient.pk}",
            initial=EntryForm.initial_for(row.entry),
            objectives=row.objectives,
        )
        self.addendum_form = AddendumForm(
            addendum_data, prefix=f"add-{row.entry.pk}" if row.entry else "add-none"
        )

    @property
    def addenda(self) -> list[Any]:
        return list(self.entry.addenda.all()) if self.entry else []

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors)


def _save(
    request: HttpRequest,
    user: User,
    screen: GroupNoteScreen,
    shared: SharedForm,
    cards: list[AttendeeCard],
) -> tuple[bool, list[str]]:
    """Save the draft: the shared part and every attendee's part that has something in it."""
    # Every part is validated (no short-circuit) so each shows its own errors.
    parts_ok = [c.form.is_valid() for c in cards]
    ok = shared.is_valid() & all(parts_ok)
    if not ok:
        return False, ["Nothing was saved: fix what is marked below."]
    entries = {
        c.patient.pk: c.form.entry_input() for c in cards if c.entry is not None or c.form.filled
    }
    try:
        services.save_group_note(
            actor=user,
            session=screen.session,
            topic=shared.cleaned_data.get("topic") or "",
            interventions=shared.cleaned_data.get("interventions") or "",
            process=shared.cleaned_data.get("process") or "",
            entries=entries,
            late_reason=shared.cleaned_data.get("late_reason") or "",
            revision=shared.revision_value(note_exists=screen.note is not None),
        )
    except ValidationError as error:
        loose = apply_group_errors(error, shared, {c.patient.pk: c.form for c in cards})
        return False, ["Nothing was saved: fix what is marked below.", *loose]
    missing = len(screen.rows) - len(entries)
    text = f"Draft saved with {len(entries)} attendee part{'s' if len(entries) != 1 else ''}."
    if missing:
        text += f" {missing} still to write before you can sign."
    else:
        text += " Sign it below when you are done."
    messages.success(request, text)
    return True, []


def _addendum_target(
    note: GroupNote, shared: AddendumForm, cards: list[AttendeeCard], target: str
) -> tuple[GroupNote | GroupNoteEntry, AddendumForm] | None:
    """What the posted addendum is about (the session, or one attendee shown) and its form."""
    if target == "shared":
        return note, shared
    for card in cards:
        if card.entry is not None and target == str(card.entry.pk):
            return card.entry, card.addendum_form
    return None


def _targets(action: str, target: str, row: ScreenRow) -> bool:
    """This attendee's addendum form was the one sent."""
    return action == "addendum" and row.entry is not None and target == str(row.entry.pk)


@login_required
@require_http_methods(["GET", "POST"])
def group_note(request: HttpRequest, session_id: int) -> HttpResponse:
    user = user_of(request)
    session = _session(user, session_id)
    screen = selectors.group_note_screen(user, session)
    note: GroupNote | None = screen.note
    now = timezone.now()
    posted = request.method == "POST"
    action = request.POST.get("action", "") if posted else ""
    target = request.POST.get("target", "") if posted else ""
    signed = note is not None and note.is_signed
    mine = note is None or note.author_id == user.pk
    editable = not signed and mine and session.starts_at <= now
    data = request.POST if action == "save" else None
    shared = SharedForm(data, initial=_shared_initial(screen))
    cards = [
        AttendeeCard(r, data, request.POST if _targets(action, target, r) else None)
        for r in screen.rows
    ]
    shared_addendum = AddendumForm(
        request.POST if action == "addendum" and target == "shared" else None, prefix="add-shared"
    )
    sign_form = SignForm(request.POST if action == "sign" else None, prefix="sign")
    cosign_form = CosignForm(request.POST if action == "cosign" else None, prefix="cosign")
    here = redirect("notes:group", session_id=session.pk)
    problems: list[str] = []

    if action == "save" and editable:
        saved, problems = _save(request, user, screen, shared, cards)
        if saved:
            return here
    elif action == "save":
        problems = [
            services.LOCKED
            if signed
            else "Nothing was saved: only the note's author changes the draft."
            if not mine
            else "Nothing was saved: this session has not happened yet."
        ]
    elif action == "sign" and note is not None and not signed and sign_form.is_valid():
        try:
            services.sign_group_note(actor=user, group_note=note, **sign_form.identity)
        except ValidationError as error:
            apply_errors(sign_form, error)
        else:
            messages.success(
                request,
                "Signed. Each attendee's chart now shows the shared part and their own part. "
                "Anything to add later is an addendum.",
            )
            return here
    elif action == "addendum" and signed and note is not None:
        found = _addendum_target(note, shared_addendum, cards, target)
        if found is None:
            raise Http404("No such part of this note.")
        about, form = found
        if form.is_valid() and submit_addendum(request, form, target=about):
            return here
    elif (
        action == "cosign"
        and note is not None
        and cosign_form.is_valid()
        and submit_cosign(request, cosign_form, target=note)
    ):
        return here

    record_list(
        actor=user,
        patients=[r.patient.pk for r in screen.rows],
        section=SECTION,
        facility_id=session.facility_id,
        obj=session,
        detail={"session": session.pk},
    )
    cosignature = cosignature_of(note) if note else None
    waiting = bool(note and note.is_signed and note.needs_cosign and cosignature is None)
    late_hours = selectors.settings_for(session.facility.organization_id).late_after_hours
    show_late = (note is not None and note.late_entry) or (
        note is None
        and rules.is_late(service_ended=session.ends_at, written=now, late_after_hours=late_hours)
    )
    written = sum(1 for c in cards if c.entry is not None)
    context = {
        "session": session,
        "screen": screen,
        "note": note,
        "cards": cards,
        "shared": shared,
        "sign_form": sign_form,
        "cosign_form": cosign_form,
        "shared_addendum": shared_addendum,
        "problems": problems,
        "signed": signed,
        "editable": editable,
        "mine": mine,
        "started": session.starts_at <= now,
        "show_late": show_late,
        "late_after_hours": late_hours,
        "written": written,
        "missing": len(cards) - written,
        "may_sign": note is not None and not signed and mine,
        "cosignature": cosignature,
        "waiting_cosign": waiting,
        "may_cosign": waiting and note is not None and services.may_cosign(user, note.author),
        "topics": [t.title for t in session.group.topics.all()],
        "open_form": action,
        "target": target,
    }
    with timezone.override(session.facility.zone):
        return render(request, "notes/group.html", context)


urlpatterns: list[URLPattern] = [
    path("sessions/<int:session_id>/", group_note, name="group"),
]
