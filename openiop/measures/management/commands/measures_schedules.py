"""Give every open episode of care the default repeated instruments it never had.

    python manage.py measures_schedules

The due list and the Measures tab do this as they are opened (for the episodes they show);
run this nightly so that an episode admitted by any route is on the due list the next day.
Safe to run twice; prints counts only (no patient information).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openiop.admissions.models import EpisodeOfCare
from openiop.measures import rules, services


class Command(BaseCommand):
    help = (
        "Start the default repeated instruments (see openiop/measures/rules.py) "
        "for every open episode of care that never had them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = services.ensure_default_schedules_for(
            episodes=EpisodeOfCare.objects.all(), actor=None
        )
        episodes = len({s.episode_id for s in created})
        defaults = ", ".join(f"{code} every {days} days" for code, days in rules.DEFAULT_SCHEDULES)
        self.stdout.write(
            f"Repeated instruments ({defaults}): {len(created)} schedule"
            f"{'s' if len(created) != 1 else ''} started for {episodes} open "
            f"episode{'s' if episodes != 1 else ''}."
        )
