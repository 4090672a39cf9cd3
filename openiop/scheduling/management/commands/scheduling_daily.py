"""Run the IOP week's daily jobs now: sessions made ahead, short weeks alerted.

    python manage.py scheduling_daily [--date YYYY-MM-DD]

Safe to run twice; prints counts only (no patient information).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openiop.scheduling.tasks import run_daily_checks


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--date needs a date like 2026-03-09, not {text!r}.") from error


class Command(BaseCommand):
    help = (
        "Keep every running group's sessions made 26 weeks ahead, and alert the primary "
        "clinician of each patient below the program's minimum in the last full week."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            help="Run as if today were this day (YYYY-MM-DD); default: today.",
        )

    def handle(self, *args: Any, date: str | None = None, **options: Any) -> None:
        result = run_daily_checks(_date(date) if date else None)
        self.stdout.write(
            f"Scheduling checks for {result.day}: {result.sessions_made} sessions made ahead; "
            f"week of {result.week_checked} checked, {result.week_alerts} new "
            f"alert{'s' if result.week_alerts != 1 else ''} below the minimum."
        )
