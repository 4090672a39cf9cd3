"""How many continuing-care follow-ups are overdue and due soon, per facility.

    python manage.py discharge_followups_due

For a nightly cron e-mail to the alumni coordinators: it prints counts only, never a name or
any other patient information, so the output may travel by e-mail. Each facility counts on its
own local date, with its organization's "show this many days before" window (7 by default).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from openiop.accounts.models import Facility
from openiop.discharge import alumni


class Command(BaseCommand):
    help = "Print, per active facility, how many follow-ups are overdue and due soon (no names)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--facility",
            dest="codes",
            action="append",
            default=[],
            help="Only this facility code (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        facilities = Facility.objects.filter(is_active=True).select_related("organization")
        if options["codes"]:
            facilities = facilities.filter(code__in=[c.upper() for c in options["codes"]])
        windows: dict[int, int] = {}
        total_overdue = total_soon = 0
        for facility in facilities.order_by("name", "id"):
            org = facility.organization_id
            if org not in windows:
                windows[org] = alumni.settings_of(facility.organization).due_window_days
            today = alumni.local_today(facility)
            counts = alumni.facility_due_counts(facility, today=today, window_days=windows[org])
            total_overdue += counts.overdue
            total_soon += counts.due_soon
            self.stdout.write(
                f"{facility.code} {facility.name}: {counts.overdue} overdue, "
                f"{counts.due_soon} due in the next {windows[org]} day"
                f"{'s' if windows[org] != 1 else ''} ({today:%m/%d/%Y})."
            )
        self.stdout.write(f"All facilities: {total_overdue} overdue, {total_soon} due soon.")
