"""The daily jobs of the IOP week: keep sessions made ahead and alert on short weeks.

``daily_scheduling_checks`` runs on the task worker; ``manage.py scheduling_daily`` runs the
same work at once (from cron or a systemd timer). Both are safe to run more than once a
day: sessions are made once, and a week below the minimum alerts once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.utils import timezone
from django_tasks import task

from openiop.accounts.models import Facility
from openiop.scheduling import rules, services


@dataclass(frozen=True)
class DailyResult:
    """Counts only: what the job did, never who it was about."""

    day: str
    sessions_made: int
    week_checked: str
    week_alerts: int


def job_day() -> dt.date:
    """The earliest local date among the facilities: a week counts as over only once it
    is over everywhere, so no facility is judged on a week it is still living."""
    days = [timezone.localdate(timezone=f.zone) for f in Facility.objects.all()]
    return min(days) if days else timezone.localdate()


def run_daily_checks(day: dt.date | None = None) -> DailyResult:
    """Make sessions ``HORIZON_DAYS`` ahead, then check the last full week (Monday to
    Sunday) before ``day``.

    The week is checked on every run, not only on Mondays: the check raises each alert
    once, so a missed Monday (a server down, a failed run) is caught up the next day.
    """
    # Without a date each schedule counts ahead from its own facility's today.
    made = services.extend_sessions(today=day)
    on = day or job_day()
    last_week = rules.week_start(on) - dt.timedelta(days=7)
    alerts = services.check_week(week=last_week)
    return DailyResult(
        day=on.isoformat(),
        sessions_made=made,
        week_checked=last_week.isoformat(),
        week_alerts=alerts,
    )


@task()
def daily_scheduling_checks(*, day: str | None = None) -> dict[str, object]:
    """``day`` is an ISO date (tasks take JSON); none means today."""
    result = run_daily_checks(dt.date.fromisoformat(day) if day else None)
    return asdict(result)
