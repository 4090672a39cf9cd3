"""Background exports (openiop.reports.exports): started with a role check and clean
parameters, run by the task (ImmediateBackend in tests) to a file outside the web root with
progress, downloaded only by their creator, and purged after the days kept."""

from __future__ import annotations

import datetime as dt
import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.reports import base, checks, exports, teds
from openiop.reports.models import Export
from tests.admissions.factories import program_with_phases
from tests.conftest import last_event
from tests.reports.teds_data import admitted, changed, discharged, person

JAN1, MAR31 = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
PARAMS = {"facility": None, "start": "2026-01-01", "end": "2026-03-31"}
BROKEN_MESSAGE = "Patient Beatriz Alvarado HTF-410001 broke it"


@pytest.fixture(autouse=True)
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    settings.OPENIOP_EXPORTS_DIR = tmp_path / "exports"
    return tmp_path / "exports"


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, name="Adult IOP")


@pytest.fixture
def three_admissions(facility: Facility, program: Program, clinician: User) -> list[int]:
    """Three patients admitted in the first quarter; the last one misses its TEDS answers."""
    patients = [
        person(facility, first_name="Beatriz", last_name="Alvarado", mrn="HTF-410001"),
        person(facility, first_name="Chen", last_name="Bao", mrn="HTF-410002"),
        person(facility, first_name="Dmitri", last_name="Cole", mrn="HTF-410003"),
    ]
    for n, patient in enumerate(patients):
        admitted(patient, program, clinician, dt.date(2026, 1, 5 + n), full=n < 2)
    return [p.pk for p in patients]


@pytest.fixture
def fake_report() -> Iterator[list[base.Filters]]:
    """A report registered for the test only (the real ones are tested with the reports)."""
    seen: list[base.Filters] = []

    def build(filters: base.Filters, user: User) -> base.Result:
        seen.append(filters)
        return base.Result(
            columns=[
                base.Column("day", "Day", "date"),
                base.Column("who", "Clinician", "text"),
                base.Column("count", "Admissions"),
            ],
            rows=[
                {"day": dt.date(2026, 1, 5), "who": "Ana Ruiz", "count": 3},
                {"day": dt.date(2026, 1, 6), "who": "=HYPERLINK(1)", "count": None},
            ],
        )

    base.REGISTRY["test-export"] = base.Report(
        "test-export", "Admissions by day", "For the test.", build
    )
    yield seen  # the filters each build was given
    del base.REGISTRY["test-export"]


def started(
    capture: Callable[..., Any], actor: User, kind: str = "teds-a", **params: Any
) -> Export:
    with capture(execute=True):
        export = exports.start_export(actor=actor, kind=kind, params={**PARAMS, **params})
    export.refresh_from_db()
    return export


# --- TEDS exports -----------------------------------------------------------------------------


def test_a_teds_export_runs_to_a_file_with_its_rows(
    director: User,
    three_admissions: list[int],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    export = started(django_capture_on_commit_callbacks, director)

    assert (export.status, export.progress, export.rows) == ("done", 100, 3)
    assert export.started_at and export.finished_at
    path = exports_dir / export.file_name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert export.size == path.stat().st_size
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[0] == ",".join(teds.A_COLUMNS)
    assert [line.split(",")[5] for line in lines[1:4]] == ["20260105", "20260106", "20260107"]
    assert lines[3].split(",")[9] == "-9"  # SUB1 of the admission without TEDS answers
    assert list(exports_dir.iterdir()) == [path]  # no half-written file left behind


def test_the_title_and_file_names_hold_no_patient_information(
    director: User,
    three_admissions: list[int],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    export = started(django_capture_on_commit_callbacks, director, facility=None)

    assert export.title == "TEDS admissions (TEDS-A), all your facilities, 01/01/2026 to 03/31/2026"
    assert export.download_name == "teds-a-2026-01-01-to-2026-03-31.csv"
    assert len(export.file_name) == 36 and export.file_name.endswith(".csv")
    words = f"{export.title} {export.download_name} {export.file_name}".lower()
    for secret in ("alvarado", "beatriz", "410001", "htf-"):
        assert secret not in words
    content = (exports_dir / export.file_name).read_bytes().decode().lower()
    for secret in ("alvarado", "beatriz", "410001", "1990"):
        assert secret not in content


def test_a_teds_d_export_writes_discharges_and_transfers(
    facility: Facility,
    program: Program,
    director: User,
    clinician: User,
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    outpatient = program_with_phases(facility, name="OP", level_of_care="1", max_hours_per_week=8)
    episode = admitted(person(facility), program, clinician, dt.date(2026, 1, 5))
    changed(
        episode,
        dt.date(2026, 2, 2),
        clinician,
        to_program=outpatient,
        from_services=6,
        to_services=7,
    )
    discharged(episode, dt.date(2026, 3, 2), clinician)

    export = started(
        django_capture_on_commit_callbacks, director, "teds-d", facility=str(facility.pk)
    )

    assert (export.status, export.rows) == ("done", 2)
    assert export.title.startswith("TEDS discharges (TEDS-D), Harbor Test Facility, ")
    lines = (exports_dir / export.file_name).read_bytes().decode().split("\r\n")
    assert lines[0] == ",".join(teds.D_COLUMNS)
    reasons = [line.split(",")[7] for line in lines[1:3]]
    assert reasons == ["4", "1"]


def test_progress_is_saved_as_the_rows_are_written(
    director: User,
    three_admissions: list[int],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    seen: list[tuple[int, int]] = []
    original = exports._progress

    def spy(export_id: int, rows: int, total: int) -> None:
        original(export_id, rows, total)
        saved = Export.objects.get(pk=export_id)
        seen.append((saved.progress, saved.rows))
        assert saved.status == "running"

    monkeypatch.setattr(exports, "_progress", spy)

    export = started(django_capture_on_commit_callbacks, director)

    assert seen == [(33, 1), (66, 2), (99, 3)]  # never 100 before the file is in place
    assert export.progress == 100


def test_the_file_s_patients_are_in_the_audit_trail(
    director: User, three_admissions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    export = started(django_capture_on_commit_callbacks, director)

    exported = AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT, object_id=str(export.pk), actor=director
    )
    assert sorted(exported.values_list("patient_id", flat=True)) == sorted(three_admissions)
    created = last_event(action=AuditEvent.Action.CREATE, object_id=str(export.pk))
    assert created.detail["kind"] == "teds-a"


def test_roles_without_the_teds_permission_are_refused(
    make_user: Callable[..., User], three_admissions: list[int]
) -> None:
    for role in (Role.CLINICIAN, Role.CLINICAL_SUPERVISOR, Role.AUDITOR, Role.BILLING):
        user = make_user(role)
        with pytest.raises(PermissionDenied):
            exports.start_export(actor=user, kind="teds-a", params=PARAMS)
        assert last_event(actor=user).action == AuditEvent.Action.DENIED
    assert not Export.objects.exists()


def test_the_administrator_may_export_teds(
    administrator: User, three_admissions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    assert started(django_capture_on_commit_callbacks, administrator).status == "done"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"start": "2026-03-31", "end": "2026-01-01"}, "end", "before the start"),
        ({"start": "", "end": "2026-01-01"}, "start", "first day"),
        ({"start": "31/01/2026"}, "start", "first day"),
        ({"end": None}, "end", "last day"),
        ({"start": "2020-01-01", "end": "2026-01-31"}, "start", "5 years"),
        ({"end": "2099-01-01"}, "end", "in the future"),
    ],
)
def test_bad_dates_are_refused_with_a_field_message(
    director: User, params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        exports.start_export(actor=director, kind="teds-a", params={**PARAMS, **params})

    assert words in refused.value.message_dict[field][0]
    assert not Export.objects.exists()


def test_a_facility_that_is_not_the_user_s_is_refused(
    director: User, other_facility: Facility
) -> None:
    for facility in (other_facility.pk, "abc"):
        with pytest.raises(ValidationError) as refused:
            exports.start_export(
                actor=director, kind="teds-a", params={**PARAMS, "facility": facility}
            )
        assert refused.value.message_dict["facility"] == [
            "Choose one of the facilities you work at."
        ]


def test_an_unknown_kind_is_refused(director: User) -> None:
    with pytest.raises(LookupError):
        exports.start_export(actor=director, kind="report-nothing", params=PARAMS)
    assert not exports.is_known("teds-x")


def test_a_second_run_of_the_same_export_does_nothing(
    director: User, three_admissions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    export = started(django_capture_on_commit_callbacks, director)

    assert exports.run_export(export.pk) == {"export": export.pk, "status": "skipped"}
    assert Export.objects.get(pk=export.pk).file_name == export.file_name


def test_a_creator_who_lost_the_role_gets_a_failed_export(
    director: User, three_admissions: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        export = exports.start_export(actor=director, kind="teds-a", params=PARAMS)
    director.role = Role.CLINICIAN
    director.save()
    for callback in queued:
        callback()

    export.refresh_from_db()
    assert (export.status, export.file_name) == ("failed", "")
    assert export.error == "Your role no longer runs this export."


def test_a_file_whose_audit_fails_is_not_offered(
    director: User,
    three_admissions: list[int],
    exports_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def refused(**kwargs: Any) -> int:
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(exports, "record_list", refused)

    export = started(django_capture_on_commit_callbacks, director)

    assert (export.status, export.file_name, export.error) == ("failed", "", exports.FAILED_MESSAGE)
    assert list(exports_dir.iterdir()) == []


# --- report exports ---------------------------------------------------------------------------


def test_a_report_export_writes_the_report_s_columns_and_rows(
    director: User,
    facility: Facility,
    program: Program,
    fake_report: list[base.Filters],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    export = started(
        django_capture_on_commit_callbacks,
        director,
        "report-test-export",
        program=str(program.pk),
    )

    assert (export.status, export.progress, export.rows) == ("done", 100, 2)
    assert export.title == "Admissions by day, all your facilities, 01/01/2026 to 03/31/2026"
    assert export.download_name == "report-test-export-2026-01-01-to-2026-03-31.csv"
    assert (exports_dir / export.file_name).read_bytes().decode() == (
        "Day,Clinician,Admissions\r\n2026-01-05,Ana Ruiz,3\r\n2026-01-06,'=HYPERLINK(1),\r\n"
    )
    (filters,) = fake_report
    # "Today" is the facility's local date, as on the page.
    today = timezone.localdate(timezone=facility.zone)
    assert filters == base.Filters((facility.pk,), program.pk, JAN1, MAR31, today=today)
    assert last_event(action=AuditEvent.Action.EXPORT, actor=director).patient_id is None


def test_a_report_export_needs_the_report_s_permission(
    make_user: Callable[..., User], fake_report: list[base.Filters]
) -> None:
    alumni = make_user(Role.ALUMNI_COORDINATOR)
    with pytest.raises(PermissionDenied):
        exports.start_export(actor=alumni, kind="report-test-export", params=PARAMS)


def test_a_program_of_another_facility_is_refused(
    director: User, other_facility: Facility, fake_report: list[base.Filters]
) -> None:
    theirs = program_with_phases(other_facility)
    with pytest.raises(ValidationError) as refused:
        exports.start_export(
            actor=director, kind="report-test-export", params={**PARAMS, "program": theirs.pk}
        )
    assert "program" in refused.value.message_dict


def test_a_failing_export_says_so_in_plain_words_and_leaves_no_file(
    director: User,
    fake_report: list[base.Filters],
    exports_dir: Path,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def broken(filters: base.Filters, user: User) -> base.Result:
        raise ValueError(BROKEN_MESSAGE)

    base.REGISTRY["test-export"] = base.Report("test-export", "Broken", "", broken)

    export = started(django_capture_on_commit_callbacks, director, "report-test-export")

    assert export.status == "failed"
    assert export.error == exports.FAILED_MESSAGE
    assert "Traceback" not in export.error
    assert list(exports_dir.iterdir()) == []
    assert "ValueError" in caplog.text
    assert "Alvarado" not in caplog.text  # an error's message may hold PHI: never logged


# --- download and purge -----------------------------------------------------------------------


def test_only_the_creator_downloads_the_file(
    director: User,
    make_user: Callable[..., User],
    three_admissions: list[int],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    export = started(django_capture_on_commit_callbacks, director)
    colleague = make_user(Role.CLINICAL_DIRECTOR)

    with pytest.raises(Http404):
        exports.export_for(colleague, export.token)
    assert last_event(actor=colleague).action == AuditEvent.Action.DENIED
    with pytest.raises(Http404):
        exports.download(actor=colleague, export=export)

    response = exports.download(actor=director, export=exports.export_for(director, export.token))

    assert response["Content-Disposition"] == (
        'attachment; filename="teds-a-2026-01-01-to-2026-03-31.csv"'
    )
    assert response["Cache-Control"] == "no-store, private"
    assert b"".join(response.streaming_content) == (exports_dir / export.file_name).read_bytes()  # type: ignore[arg-type]
    event = last_event(actor=director, action=AuditEvent.Action.EXPORT)
    assert event.detail["file"] == "teds-a-2026-01-01-to-2026-03-31.csv"


def test_a_file_not_ready_or_removed_is_not_found(
    director: User,
    three_admissions: list[int],
    exports_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        waiting = exports.start_export(actor=director, kind="teds-a", params=PARAMS)
    with pytest.raises(Http404):
        exports.download(actor=director, export=waiting)

    export = started(django_capture_on_commit_callbacks, director)
    (exports_dir / export.file_name).unlink()
    with pytest.raises(Http404):
        exports.download(actor=director, export=export)


def test_old_exports_are_purged_with_their_files(
    director: User,
    three_admissions: list[int],
    exports_dir: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.OPENIOP_EXPORTS_KEEP_DAYS = 7
    old = started(django_capture_on_commit_callbacks, director)
    recent = started(django_capture_on_commit_callbacks, director)
    Export.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    stray = exports_dir / ("ab" * 16 + ".csv")
    stray.write_text("left behind")

    assert exports.purge_old_exports(now=timezone.now()) == 1
    assert list(Export.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not (exports_dir / old.file_name).exists()
    assert (exports_dir / recent.file_name).exists()
    assert stray.exists()  # unknown but new: kept until it is old too

    later = timezone.now() + dt.timedelta(days=8)
    assert exports.purge_old_exports(now=later) == 1
    assert list(exports_dir.iterdir()) == []


def test_the_purge_command_reports_a_count(director: User) -> None:
    out = io.StringIO()
    call_command("purge_exports", stdout=out)
    assert out.getvalue().strip() == "0 old exports removed."


# --- the command line and the start-up check --------------------------------------------------


def test_the_teds_export_command_writes_the_file(
    facility: Facility, three_admissions: list[int], tmp_path: Path
) -> None:
    target = tmp_path / "teds-a.csv"
    err = io.StringIO()

    call_command(
        "teds_export",
        "--kind",
        "A",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "--facility",
        "HTF",
        "--out",
        str(target),
        stderr=err,
    )

    lines = target.read_bytes().decode().split("\r\n")
    assert lines[0] == ",".join(teds.A_COLUMNS) and len(lines) == 5
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "3 TEDS-A records written" in err.getvalue()
    assert "1 with a missing required field" in err.getvalue()
    assert (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.EXPORT, section="TEDS-A file (command line)"
        ).count()
        == 3
    )


def test_the_teds_export_command_refuses_bad_input(facility: Facility) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="before the start"):
        call_command("teds_export", "--kind", "D", "--from", "2026-03-01", "--to", "2026-01-01")
    with pytest.raises(CommandError, match="No facility"):
        call_command(
            "teds_export",
            "--kind",
            "D",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-01",
            "--facility",
            "NOPE",
        )


def test_the_exports_folder_must_not_be_served(settings: Any, tmp_path: Path) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    settings.OPENIOP_EXPORTS_DIR = tmp_path / "static" / "exports"
    (problem,) = checks.exports_outside_web_root(None)
    assert isinstance(problem, Error) and problem.id == "reports.E001"

    settings.OPENIOP_EXPORTS_DIR = tmp_path / "private" / "exports"
    assert checks.exports_outside_web_root(None) == []
