from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openiop.synthetic.demo import demo_is_loaded, load_demo, sign_in_table


class Command(BaseCommand):
    help = "Load the fictional demo organization (staff, programs, 60 synthetic patients)."

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_is_loaded():
            self.stdout.write("The demo data is already loaded.")
        else:
            load_demo()
            self.stdout.write(self.style.SUCCESS("Demo data loaded: fictional people only."))
        self.stdout.write("\nDemo sign-ins (two-step sign-in is off in the demo):\n")
        self.stdout.write(sign_in_table())
