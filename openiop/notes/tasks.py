"""The hourly job of clinical documentation: flag notes still unsigned past the limit.

``flag_unsigned_notes`` runs on the task worker; ``manage.py notes_flag_unsigned`` runs the
same work at once (cron or a systemd timer, e.g. every hour). Each note is flagged once.
"""

from __future__ import annotations

from django_tasks import task

from openiop.notes import services


@task()
def flag_unsigned_notes() -> dict[str, int]:
    return {"flagged": services.flag_unsigned()}
