"""What every program report is: filters in, a table (+ chart, headline figures) out.

A report is a function registered under a key. It computes its aggregates in the database
(``annotate``/``aggregate``/window functions; never a loop over patients) for the facilities
and dates of ``Filters`` and returns a ``Result``: the page draws the chart and table from it,
the CSV download writes its columns and rows, the API returns it as JSON, and the background
export writes the same rows. A report never names a patient; a few name staff (caseload,
overdue reviews, unsigned notes) and say so with ``names_staff``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openiop.accounts.models import User

ColumnKind = Literal["text", "int", "decimal", "percent", "days", "date", "hours"]
ChartKind = Literal["bar", "line", "doughnut"]


@dataclass(frozen=True)
class Filters:
    """What the person asked for, already narrowed to what they may see."""

    facility_ids: tuple[int, ...]  # never empty: the user's facilities, or the one chosen
    program_id: int | None
    start: dt.date
    end: dt.date  # inclusive; never before start (the form refuses that)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = "int"


@dataclass(frozen=True)
class Series:
    key: str  # a column key holding the values
    label: str


@dataclass(frozen=True)
class Chart:
    kind: ChartKind
    label_key: str  # the column key of the x-axis (or the slices)
    series: tuple[Series, ...]
    stacked: bool = False
    y_label: str = ""
    # Percent charts run 0–100.
    percent: bool = False


@dataclass
class Result:
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    chart: Chart | None = None
    # Headline figures shown above the chart: (label, value already formatted).
    summary: list[tuple[str, str]] = field(default_factory=list)
    # Plain-language notes on how the figures were counted.
    notes: list[str] = field(default_factory=list)


Builder = Callable[[Filters, User], Result]


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    description: str
    build: Builder
    # The rules permission a reader needs ("reports.view_reports" for most).
    permission: str = "reports.view_reports"
    names_staff: bool = False
    # Order on the reports index (smaller first).
    order: int = 100


REGISTRY: dict[str, Report] = {}


def register(
    key: str,
    title: str,
    description: str,
    *,
    permission: str = "reports.view_reports",
    names_staff: bool = False,
    order: int = 100,
) -> Callable[[Builder], Builder]:
    """Decorate a builder to list it as a report."""

    def wrap(build: Builder) -> Builder:
        if key in REGISTRY:
            raise ValueError(f"Report {key!r} is registered twice.")
        REGISTRY[key] = Report(key, title, description, build, permission, names_staff, order)
        return build

    return wrap


def reports_for(user: User) -> list[Report]:
    return sorted(
        (r for r in REGISTRY.values() if user.can(r.permission)), key=lambda r: (r.order, r.title)
    )


def percent(part: int | float | None, whole: int | float | None) -> float | None:
    """A share in percent with one decimal, or None when there is nothing to divide."""
    if not whole or part is None:
        return None
    return round(100.0 * float(part) / float(whole), 1)
