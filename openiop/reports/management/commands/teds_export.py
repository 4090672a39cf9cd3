"""Write a TEDS file from the command line (the same records as the TEDS page's export).

    python manage.py teds_export --kind A --from 2026-01-01 --to 2026-03-31 --out teds-a.csv
    python manage.py teds_export --kind D --from 2026-01-01 --to 2026-03-31 --facility HTF

Without ``--facility`` every active facility is included; ``--facility`` takes a facility's
code (or id) and may be repeated. ``--out -`` (the default) writes to standard output. The
file is written with permissions 0600; the records of every patient in it are added to the
audit trail (as exported by the system). The layout is documented in docs/teds.md.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openiop.accounts.models import Facility
from openiop.audit.models import AuditEvent
from openiop.audit.services import record_list
from openiop.reports import teds


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Write TEDS admission (A) or discharge (D) records for a date range as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=["A", "D", "a", "d"])
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--facility",
            action="append",
            default=[],
            help="facility code or id (repeat for several; all active facilities if omitted)",
        )
        parser.add_argument("--out", default="-", help="file to write, or - for standard output")

    def _facilities(self, wanted: list[str]) -> list[int]:
        if not wanted:
            ids = list(Facility.objects.filter(is_active=True).values_list("pk", flat=True))
            if not ids:
                raise CommandError("There is no active facility.")
            return ids
        ids = []
        for value in wanted:
            query = Facility.objects.filter(code=value.upper())
            if value.isdigit():
                query = query | Facility.objects.filter(pk=int(value))
            pk = query.values_list("pk", flat=True).first()
            if pk is None:
                raise CommandError(f"No facility with the code or id {value!r}.")
            ids.append(pk)
        return ids

    def handle(self, *args: Any, **options: Any) -> None:
        kind: teds.Kind = "A" if options["kind"].upper() == "A" else "D"
        start, end = _day(options["start"]), _day(options["end"])
        if end < start:
            raise CommandError("The end date (--to) is before the start date (--from).")
        facility_ids = self._facilities(options["facility"])
        out_path: str = options["out"]
        source = teds.records(kind, facility_ids, start, end)
        if out_path == "-":
            written = teds.write_csv(kind, source, self.stdout)
        else:
            handle = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            out: TextIO
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                written = teds.write_csv(kind, source, out)
        record_list(
            actor=None,
            patients=teds.patient_refs(written.patients),
            action=AuditEvent.Action.EXPORT,
            section=f"TEDS-{kind} file (command line)",
            detail={"start": start.isoformat(), "end": end.isoformat(), "rows": written.rows},
        )
        self.stderr.write(
            f"{written.rows} TEDS-{kind} record{'s' if written.rows != 1 else ''} written"
            f"{'' if out_path == '-' else f' to {out_path}'}; "
            f"{written.with_problems} with a missing required field "
            "(the TEDS page under Reports lists them)."
        )
