"""Schedules in words, the same on every page that shows them (the catalog, the chart's tab,
joining and leaving a group)."""

from __future__ import annotations

DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
KNOWN = {"FREQ", "BYDAY", "INTERVAL"}


def repeats_text(rule: str) -> str:
    """An RFC 5545 rule in words:

    FREQ=WEEKLY;BYDAY=MO,WE,FR → "Monday, Wednesday and Friday";
    FREQ=WEEKLY;BYDAY=TU,TH;INTERVAL=2 → "Tuesday and Thursday, every 2 weeks";
    FREQ=DAILY → "Every day". A rule these words cannot say (FREQ=MONTHLY;BYDAY=1TU) is
    shown as it is written.
    """
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    unit = UNITS.get(parts.get("FREQ", ""))
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    interval = parts.get("INTERVAL", "1")
    if unit is None or set(parts) - KNOWN or any(d not in DAY_NAMES for d in days):
        return rule
    if not interval.isdigit() or int(interval) < 1:
        return rule
    every = f"every {unit}" if interval == "1" else f"every {int(interval)} {unit}s"
    if not days:
        return every.capitalize()
    if unit != "week":
        return rule  # days in a month or a year: the rule says it better than words here
    names = [DAY_NAMES[d] for d in days]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return listed if interval == "1" else f"{listed}, {every}"
