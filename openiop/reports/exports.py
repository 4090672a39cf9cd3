"""Background exports: a long CSV (a report over years, the TEDS files) written by the task
worker while the page shows its progress, then downloaded by the person who asked.

``start_export`` checks the role and the parameters, saves the ``Export`` and queues
``tasks.run_export`` once the row is committed; ``run_export`` writes the file under a random
name in ``OPENIOP_EXPORTS_DIR`` (outside the web root, 0600) and keeps ``progress`` and
``rows`` up to date; ``download`` serves it to its creator only, with an audit record.
Titles, download names and log lines never hold patient information.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.reports import selectors, teds
from openiop.reports.base import REGISTRY, Filters, Report
from openiop.reports.forms import IN_FUTURE, MAX_DAYS, TOO_LONG
from openiop.reports.models import Export

logger = logging.getLogger(__name__)

TEDS_KINDS: dict[str, teds.Kind] = {"teds-a": "A", "teds-d": "D"}
TEDS_TITLES = {"A": "TEDS admissions (TEDS-A)", "D": "TEDS discharges (TEDS-D)"}
REPORT_PREFIX = "report-"
TEDS_PERMISSION = "reports.export_teds"
SECTION = "background export"
FILE_MODE = 0o600
DIR_MODE = 0o700
PROGRESS_EVERY = 500  # rows between two progress updates
_FILE_NAME = re.compile(r"[0-9a-f]{32}\.csv")
FAILED_MESSAGE = (
    "The export stopped before it was finished. Start it again; if it stops again, tell your "
    "administrator the time it happened."
)


# --- kinds and who may run them -----------------------------------------------------------------


def _reports() -> dict[str, Report]:
    """Every report, with its modules imported (``registry.load``) once they exist."""
    try:
        from openiop.reports import registry
    except ImportError:  # pragma: no cover - the registry is written alongside this module
        return REGISTRY
    try:
        return registry.load()
    except ModuleNotFoundError:
        return REGISTRY


def report_for(kind: str) -> Report | None:
    if not kind.startswith(REPORT_PREFIX):
        return None
    return _reports().get(kind.removeprefix(REPORT_PREFIX))


def is_known(kind: str) -> bool:
    return kind in TEDS_KINDS or report_for(kind) is not None


def permission_for(kind: str) -> str:
    """The rules permission an export of this kind needs; LookupError for an unknown kind."""
    if kind in TEDS_KINDS:
        return TEDS_PERMISSION
    report = report_for(kind)
    if report is None:
        raise LookupError(kind)
    return report.permission


def may_start(user: User, kind: str) -> bool:
    try:
        return user.can(permission_for(kind))
    except LookupError:
        return False


def may_use_exports(user: User) -> bool:
    """Whoever may run at least one kind of export (the exports pages answer 403 otherwise)."""
    return user.can(TEDS_PERMISSION) or any(user.can(r.permission) for r in _reports().values())


# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    facility_ids: tuple[int, ...]
    facility_id: int | None  # the one chosen, or None for all of the user's facilities
    program_id: int | None
    start: dt.date
    end: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "facility_ids": list(self.facility_ids),
            "facility": self.facility_id,
            "program": self.program_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Params:
        return cls(
            facility_ids=tuple(int(i) for i in data["facility_ids"]),
            facility_id=data.get("facility"),
            program_id=data.get("program"),
            start=dt.date.fromisoformat(data["start"]),
            end=dt.date.fromisoformat(data["end"]),
        )


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, Facility | Program):
        return int(value.pk)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # never a primary key: refused below as "not one of yours"


def facility_scope(user: User, facility: Any = None) -> tuple[int, ...]:
    """The facilities an export covers: the one chosen (it must be one of the user's), else
    all of the user's facilities. ``ValidationError`` on ``facility`` otherwise."""
    mine = list(facilities_for(user).order_by("pk").values_list("pk", flat=True))
    chosen = _id(facility)
    if chosen is None:
        if not mine:
            raise ValidationError({"facility": "You are not assigned to a facility yet."})
        return tuple(mine)
    if chosen not in mine:
        raise ValidationError({"facility": "Choose one of the facilities you work at."})
    return (chosen,)


def clean_params(user: User, params: Mapping[str, Any], *, program_allowed: bool) -> Params:
    """Dates (the end on or after the start) and a facility and program the user may see."""
    errors: dict[str, str] = {}
    start, end = _date(params.get("start")), _date(params.get("end"))
    if start is None:
        errors["start"] = "Enter the first day, e.g. 2026-01-01."
    if end is None:
        errors["end"] = "Enter the last day, e.g. 2026-03-31."
    if start and end and end < start:
        errors["end"] = (
            f"The end date is before the start ({start:%m/%d/%Y}). "
            "Choose an end on or after the start."
        )
    elif start and end and (end - start).days + 1 > MAX_DAYS:
        errors["start"] = TOO_LONG
    facility_ids: tuple[int, ...] = ()
    try:
        facility_ids = facility_scope(user, params.get("facility"))
    except ValidationError as error:
        errors.update({k: v[0] for k, v in error.message_dict.items()})
    if end and "end" not in errors and end > _local_today(facility_ids):
        errors["end"] = IN_FUTURE
    program_id = _id(params.get("program")) if program_allowed else None
    if (
        program_id is not None
        and facility_ids
        and not Program.objects.filter(pk=program_id, facility_id__in=facility_ids).exists()
    ):
        errors["program"] = "Choose a program of the facility chosen."
    if errors:
        raise ValidationError(errors)
    assert start is not None and end is not None  # noqa: S101 - checked above
    return Params(
        facility_ids=facility_ids,
        facility_id=_id(params.get("facility")),
        program_id=program_id,
        start=start,
        end=end,
    )


def _where(params: Params) -> str:
    if params.facility_id is None:
        return "all your facilities"
    name = Facility.objects.filter(pk=params.facility_id).values_list("name", flat=True).first()
    return name or "one facility"


def title_for(kind: str, params: Params) -> str:
    """A plain title without patient information: what, where and which days."""
    if kind in TEDS_KINDS:
        what = TEDS_TITLES[TEDS_KINDS[kind]]
    else:
        report = report_for(kind)
        what = report.title if report is not None else "Report"
    return f"{what}, {_where(params)}, {params.start:%m/%d/%Y} to {params.end:%m/%d/%Y}"[:200]


def download_name_for(kind: str, params: Params) -> str:
    """e.g. ``teds-a-2026-01-01-to-2026-03-31.csv``: the kind and the dates, nothing else."""
    return f"{kind}-{params.start.isoformat()}-to-{params.end.isoformat()}.csv"


# --- starting -----------------------------------------------------------------------------------


def start_export(*, actor: User, kind: str, params: Mapping[str, Any]) -> Export:
    """Check the role and the parameters, save the export and queue it after the commit.

    ``LookupError`` for an unknown kind, ``PermissionDenied`` for a role that may not run it
    (recorded in the audit trail, outside the transaction so the record stays),
    ``ValidationError`` (field → message) for bad parameters.
    """
    permission = permission_for(kind)
    if not actor.can(permission):
        record(
            actor=actor,
            action=AuditEvent.Action.DENIED,
            section=SECTION,
            detail={"kind": kind},
        )
        raise PermissionDenied("Your role does not run this export.")
    cleaned = clean_params(actor, params, program_allowed=kind not in TEDS_KINDS)
    return _create(actor=actor, kind=kind, cleaned=cleaned)


@transaction.atomic
def _create(*, actor: User, kind: str, cleaned: Params) -> Export:
    export = Export.objects.create(
        kind=kind,
        params=cleaned.as_json(),
        title=title_for(kind, cleaned),
        download_name=download_name_for(kind, cleaned),
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=export,
        facility_id=cleaned.facility_id,
        section=SECTION,
        detail={"kind": kind, **cleaned.as_json()},
    )
    from openiop.reports.tasks import run_export as task  # the task module imports this one

    export_id = export.pk
    transaction.on_commit(lambda: task.enqueue(export_id))
    return export


# --- running ------------------------------------------------------------------------------------


def exports_dir() -> Path:
    return Path(settings.OPENIOP_EXPORTS_DIR)


def path_of(file_name: str) -> Path:
    """The file of an export; anything but a name this module made is refused (no ``..``)."""
    if not _FILE_NAME.fullmatch(file_name):
        raise ValueError("Not an export file name.")
    return exports_dir() / file_name


def _open_new() -> tuple[str, Path, TextIO]:
    folder = exports_dir()
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.csv"
    partial = folder / f".{name}.part"
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return name, partial, os.fdopen(handle, "w", encoding="utf-8", newline="")


def _progress(export_id: int, rows: int, total: int) -> None:
    # A separate UPDATE each time (no transaction around the run): the page sees it at once.
    percent = min(99, rows * 100 // total) if total else 0
    Export.objects.filter(pk=export_id).update(progress=percent, rows=rows)


class _Refused(Exception):
    """The creator may no longer run this export (role or facilities changed)."""


def _write_report(export: Export, params: Params, out: TextIO) -> tuple[int, dict[int, int]]:
    import csv

    report = report_for(export.kind)
    if report is None:
        raise _Refused("This report is no longer available.")
    filters = Filters(
        facility_ids=params.facility_ids,
        program_id=params.program_id,
        start=params.start,
        end=params.end,
        # "Today" as the page has it: the facility's local date (day 90 reached, open today).
        today=_local_today(params.facility_ids),
    )
    result = report.build(filters, export.created_by)
    total = len(result.rows)
    writer = csv.writer(out, lineterminator="\r\n")
    # The same cells as the page's CSV download (ISO dates, months as YYYY-MM).
    writer.writerow(result.csv_header())
    for n, cells in enumerate(result.csv_rows(), start=1):
        writer.writerow(cells)
        if n % PROGRESS_EVERY == 0:
            _progress(export.pk, n, total)
    return total, {}


def _local_today(facility_ids: tuple[int, ...]) -> dt.date:
    first = Facility.objects.filter(pk__in=facility_ids).order_by("pk").first()
    return selectors.local_today(first)


def _write_teds(export: Export, params: Params, out: TextIO) -> tuple[int, dict[int, int]]:
    kind = TEDS_KINDS[export.kind]
    total = teds.count(kind, params.facility_ids, params.start, params.end)
    written = teds.write_csv(
        kind,
        teds.records(kind, params.facility_ids, params.start, params.end),
        out,
        every=PROGRESS_EVERY,
        progress=lambda rows: _progress(export.pk, rows, total),
    )
    return written.rows, written.patients


def _check_still_allowed(export: Export, params: Params) -> None:
    user = export.created_by
    if not user.is_active or not may_start(user, export.kind):
        raise _Refused("Your role no longer runs this export.")
    mine = set(facilities_for(user).values_list("pk", flat=True))
    if not set(params.facility_ids) <= mine:
        raise _Refused("You no longer work at every facility this export covers.")


def run_export(export_id: int) -> dict[str, Any]:
    """The task's work: write the file, keep the progress, finish as done or failed.

    Not one transaction: each progress update is committed at once for the polling page.
    A second run of the same export (a retried task) does nothing.
    """
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=timezone.now(), progress=0, rows=0
    )
    if not claimed:
        return {"export": export_id, "status": "skipped"}
    export = Export.objects.select_related("created_by").get(pk=export_id)
    # Removed unless the run gets to the end: a half-written file or one never audited.
    leftover: Path | None = None
    try:
        params = Params.from_json(export.params)
        _check_still_allowed(export, params)
        name, leftover, out = _open_new()
        with out:
            if export.kind in TEDS_KINDS:
                rows, patients = _write_teds(export, params, out)
            else:
                rows, patients = _write_report(export, params, out)
            out.flush()
            os.fsync(out.fileno())
        target = path_of(name)
        os.replace(leftover, target)
        leftover = target
        with transaction.atomic():
            # Offered for download only once the trail says whose information it holds.
            _audit_contents(export, params, patients, rows)
            Export.objects.filter(pk=export.pk).update(
                status=Export.Status.DONE,
                progress=100,
                rows=rows,
                file_name=name,
                size=target.stat().st_size,
                finished_at=timezone.now(),
            )
        leftover = None
    except _Refused as refused:
        _fail(export, str(refused))
        return {"export": export_id, "status": "failed"}
    except Exception as error:
        # The class and the code lines only: an error's message may quote a patient's data.
        logger.error(
            "Export %s (%s) failed with %s:\n%s",
            export.pk,
            export.kind,
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        _fail(export, FAILED_MESSAGE)
        return {"export": export_id, "status": "failed"}
    finally:
        if leftover is not None:
            leftover.unlink(missing_ok=True)
    return {"export": export_id, "status": "done", "rows": rows}


def _fail(export: Export, message: str) -> None:
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )


def _audit_contents(export: Export, params: Params, patients: Mapping[int, int], rows: int) -> None:
    """Whose information the file holds: one record per patient of a TEDS file (they are in
    it, under a pseudonym, with their dates), one record for a report of aggregates."""
    detail = {"export": str(export.token), "kind": export.kind, "rows": rows}
    if export.kind in TEDS_KINDS:
        record_list(
            actor=export.created_by,
            patients=teds.patient_refs(patients),
            action=AuditEvent.Action.EXPORT,
            facility_id=params.facility_id,
            obj=export,
            section=f"{TEDS_TITLES[TEDS_KINDS[export.kind]]} file",
            detail=detail,
        )
    else:
        record(
            actor=export.created_by,
            action=AuditEvent.Action.EXPORT,
            obj=export,
            facility_id=params.facility_id,
            section=f"report file: {export.kind.removeprefix(REPORT_PREFIX)}",
            detail=detail,
        )


# --- reading and downloading --------------------------------------------------------------------


def exports_of(user: User) -> QuerySet[Export]:
    """The user's own exports, newest first (nobody sees another person's exports)."""
    return Export.objects.filter(created_by=user).order_by("-created_at", "-id")


def export_for(user: User, token: Any) -> Export:
    """The user's export with this token; 404 for anyone else (recorded as a refusal)."""
    export = Export.objects.filter(token=token).first()
    if export is None:
        raise Http404("No such export.")
    if export.created_by_id != user.pk:
        record(
            actor=user,
            action=AuditEvent.Action.DENIED,
            obj=export,
            section=SECTION,
            detail={"reason": "not the creator"},
        )
        raise Http404("No such export.")
    return export


def download(*, actor: User, export: Export) -> FileResponse:
    """The finished file, to its creator only, saved under its PHI-free name; audited."""
    if export.created_by_id != actor.pk:
        raise Http404("No such export.")
    if export.status != Export.Status.DONE or not export.file_name:
        raise Http404("This export is not ready.")
    try:
        handle = path_of(export.file_name).open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("This file has been removed. Run the export again.") from None
    record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        obj=export,
        facility_id=export.params.get("facility"),
        section=f"{SECTION} download",
        detail={"kind": export.kind, "rows": export.rows, "file": export.download_name},
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export.download_name,
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- cleaning up --------------------------------------------------------------------------------


def purge_old_exports(now: dt.datetime | None = None) -> int:
    """Remove exports (file and row) older than ``OPENIOP_EXPORTS_KEEP_DAYS``; and stray
    files the database no longer knows. Returns how many exports were removed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.OPENIOP_EXPORTS_KEEP_DAYS)
    old = Export.objects.filter(created_at__lt=cutoff)
    removed = 0
    for pk, file_name in list(old.values_list("pk", "file_name")):
        if file_name:
            with contextlib.suppress(ValueError):
                path_of(file_name).unlink(missing_ok=True)
        Export.objects.filter(pk=pk).delete()
        removed += 1
    _remove_strays(cutoff)
    return removed


def _stray_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_file() and (
            _FILE_NAME.fullmatch(entry.name) or entry.name.endswith(".csv.part")
        ):
            yield entry


def _remove_strays(cutoff: dt.datetime) -> None:
    """Files left by a crash (a half-written ``.part``) or whose row is gone, once old."""
    known = set(Export.objects.exclude(file_name="").values_list("file_name", flat=True))
    for path in _stray_files(exports_dir()):
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if path.name not in known and modified < cutoff:
            path.unlink(missing_ok=True)
