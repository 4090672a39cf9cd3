"""Retention: remove audit records older than the retention period (at least six years)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.audit.purge import allow_audit_purge
from openiop.audit.services import record

MINIMUM_YEARS = 6


class Command(BaseCommand):
    help = "Remove audit records older than --years (6 or more; HIPAA keeps them at least 6)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=int, default=7)
        parser.add_argument("--yes", action="store_true", help="Do it; otherwise only count.")

    def handle(self, *args: Any, years: int, yes: bool, **options: Any) -> None:
        if years < MINIMUM_YEARS:
            raise CommandError(f"Audit records are kept at least {MINIMUM_YEARS} years.")
        cutoff = timezone.now() - dt.timedelta(days=365 * years + years // 4)
        old = AuditEvent.objects.filter(at__lt=cutoff)
        count = old.count()
        if not yes:
            self.stdout.write(
                f"{count} records are older than {years} years. Add --yes to remove them."
            )
            return
        with transaction.atomic(), allow_audit_purge(connection):
            # The queryset refuses delete() by design; the purge speaks SQL on purpose.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {AuditEvent._meta.db_table} WHERE at < %s",  # noqa: S608
                    [cutoff],
                )
                deleted = cursor.rowcount
            record(
                actor=None,
                action=AuditEvent.Action.DELETE,
                section="audit retention purge",
                detail={"removed": deleted, "older_than_years": years},
            )
        self.stdout.write(f"Removed {deleted} audit records older than {years} years.")
