from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openiop.accounts.models import Facility, Organization
from openiop.synthetic.generate import generate_patients


class Command(BaseCommand):
    help = (
        "Generate synthetic patients with bulk inserts; the same --seed gives the same people. "
        "Creates a facility for them when --facility names one that does not exist."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True, help="How many patients.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--facility", default="SYN", help="Facility code (default SYN).")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(
        self, *args: Any, patients: int, seed: int, facility: str, batch_size: int, **options: Any
    ) -> None:
        if patients < 1:
            raise CommandError("--patients must be at least 1.")
        code = facility.upper()
        target = Facility.objects.filter(code=code).first()
        if target is None:
            org, _ = Organization.objects.get_or_create(name="Synthetic data (generated)")
            target = Facility.objects.create(
                organization=org, name=f"Synthetic facility {code}", code=code
            )
        started = time.perf_counter()
        made = generate_patients(target, count=patients, seed=seed, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Created {made} synthetic patients in {target.name} ({code}) in {elapsed:.1f} s "
            f"({made / elapsed:,.0f} per second)."
        )
