"""Remove background exports older than OPENIOP_EXPORTS_KEEP_DAYS (file and row).

    python manage.py purge_exports

Safe to run as often as you like (daily from cron or a systemd timer); prints a count only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openiop.reports.exports import purge_old_exports


class Command(BaseCommand):
    help = "Remove background exports (their files and rows) older than the days kept."

    def handle(self, *args: Any, **options: Any) -> None:
        removed = purge_old_exports()
        self.stdout.write(f"{removed} old export{'s' if removed != 1 else ''} removed.")
