"""Work lists and settings: my notes to sign (and my supervisees' overdue ones), notes
waiting for my co-signature, and the organization's note format and hours.

Each list names patients only the user may see (others are counted as "a patient not in
your care") and records the patients it shows in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import User
from openiop.audit.services import record_list
from openiop.notes import selectors, selectors_views, services
from openiop.notes.forms import SettingsForm, apply_errors
from openiop.notes.models import GroupNote, Note
from openiop.notes.views_common import user_of

NOT_IN_CARE = "A patient not in your care"


@dataclass(frozen=True)
class Line:
    """One document of a work list, as the list shows it."""

    document: Note | GroupNote
    overdue: bool
    who: str  # the patient's name, or the group's name for a group note
    url: str

    @property
    def is_group(self) -> bool:
        return isinstance(self.document, GroupNote)

    @property
    def start_time(self) -> dt.time:
        """The service's start in its facility's time (a plain time: the template's ``time``
        filter would turn an aware datetime back into UTC)."""
        return timezone.localtime(self.document.started_at, self.document.facility.zone).time()


def _line(document: Note | GroupNote, overdue: bool, visible: set[int], *, cosign: bool) -> Line:
    if isinstance(document, GroupNote):
        return Line(
            document,
            overdue,
            f"Group: {document.session.group.name}",
            reverse("notes:group", args=[document.session_id]),
        )
    seen = document.patient_id in visible
    url = reverse(
        "notes:detail" if document.is_signed or cosign else "notes:edit",
        args=[document.patient_id, document.pk],
    )
    return Line(document, overdue, document.patient.display_name if seen else NOT_IN_CARE, url)


def _patients(documents: list[Note | GroupNote]) -> list[int]:
    return [d.patient_id for d in documents if isinstance(d, Note)]


def _audit(user: User, shown: list[Line], visible: set[int], section: str) -> None:
    record_list(
        actor=user,
        patients=sorted({pid for pid in _patients([s.document for s in shown]) if pid in visible}),
        section=section,
    )


def _hours(user: User) -> int:
    return selectors.settings_for(user.organization_id).unsigned_after_hours


@login_required
@require_GET
def to_sign(request: HttpRequest) -> HttpResponse:
    """My unsigned drafts, oldest first, overdue ones flagged; supervisors also see their
    supervisees' notes unsigned past the limit."""
    user = user_of(request)
    selectors.require_writer(user)
    now = timezone.now()
    mine = selectors.to_sign(user, now=now)
    theirs = selectors.supervisees_overdue(user, now=now)
    documents = [r.document for r in [*mine, *theirs]]
    visible = selectors_views.visible_ids(user, _patients(documents))
    own = [_line(r.document, r.overdue, visible, cosign=False) for r in mine]
    others = [_line(r.document, True, visible, cosign=True) for r in theirs]
    _audit(user, [*own, *others], visible, "notes to sign")
    context = {
        "own": own,
        "others": others,
        "overdue_count": sum(1 for line in own if line.overdue),
        "hours": _hours(user),
        "perms_cosign": user.can("notes.cosign_note"),
    }
    return render(request, "notes/to_sign.html", context)


@login_required
@require_GET
def cosign_queue(request: HttpRequest) -> HttpResponse:
    """Signed notes waiting for my co-signature, oldest first."""
    user = user_of(request)
    if not user.can("notes.cosign_note"):
        raise PermissionDenied("Only a clinical supervisor or the clinical director co-signs.")
    waiting = selectors.cosign_queue(user)
    visible = selectors_views.visible_ids(user, _patients(waiting))
    lines = [_line(d, False, visible, cosign=True) for d in waiting]
    _audit(user, lines, visible, "notes to co-sign")
    return render(request, "notes/cosign_queue.html", {"lines": lines})


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The organization's note format and its unsigned and late-entry hours."""
    user = user_of(request)
    if not user.can("notes.change_notesettings") or user.organization is None:
        raise PermissionDenied("Only the clinical director or an administrator sets this.")
    current = selectors.settings_for(user.organization_id)
    form = SettingsForm(
        request.POST or None,
        initial={
            "note_format": current.note_format,
            "unsigned_after_hours": current.unsigned_after_hours,
            "late_after_hours": current.late_after_hours,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_settings(actor=user, organization=user.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Note settings saved. New notes use them from now on.")
            return redirect("notes:settings")
    return render(request, "notes/settings.html", {"form": form, "current": current})


urlpatterns: list[URLPattern] = [
    path("to-sign/", to_sign, name="to_sign"),
    path("cosign/", cosign_queue, name="cosign_queue"),
    path("settings/", settings_page, name="settings"),
]
