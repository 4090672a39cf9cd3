"""Work the task worker does for reports: write a background export, clear out old ones.

``run_export`` is queued by ``exports.start_export`` once the export's row is committed;
``purge_exports`` runs daily (``manage.py purge_exports`` does the same from cron or a
systemd timer).
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from openiop.reports import exports


@task()
def run_export(export_id: int) -> dict[str, Any]:
    return exports.run_export(export_id)


@task()
def purge_exports() -> dict[str, int]:
    return {"removed": exports.purge_old_exports()}
