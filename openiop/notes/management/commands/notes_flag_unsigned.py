"""Tell authors and their supervisors about notes still unsigned past the limit.

    python manage.py notes_flag_unsigned

Safe to run as often as you like (each note is flagged once); prints a count only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openiop.notes.services import flag_unsigned


class Command(BaseCommand):
    help = (
        "Notify the author and their supervisor, once, of each note unsigned longer than the "
        "organization's limit (24 hours unless set otherwise)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = flag_unsigned()
        self.stdout.write(f"{count} unsigned note{'s' if count != 1 else ''} flagged.")
