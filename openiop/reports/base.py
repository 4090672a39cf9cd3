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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from openiop.accounts.models import User

ColumnKind = Literal["text", "int", "decimal", "percent", "days", "date", "month", "hours"]
ChartKind = Literal["bar", "line", "doughnut"]
Axis = Literal["left", "right"]


@dataclass(frozen=True)
class Filters:
    """What the person asked for, already narrowed to what they may see."""

    facility_ids: tuple[int, ...]  # never empty: the user's facilities, or the one chosen
    program_id: int | None
    start: dt.date
    end: dt.date  # inclusive; never before start (the form refuses that)
    # The facility's local date the figures are worked out on (retention's "day 90 has
    # come", caseload's "open today"); None means the active time zone's date today.
    today: dt.date | None = None

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
    # A series drawn differently from the chart's kind (bars of admissions under a census
    # line), and on the right-hand axis when its numbers are of another size.
    kind: ChartKind | None = None
    axis: Axis = "left"


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

    def csv_header(self) -> list[str]:
        return [c.label for c in self.columns]

    def csv_rows(self) -> Iterator[list[str]]:
        """The rows as CSV cells, in column order: ISO dates, plain numbers, empty for none
        (the download, the background export and anyone else writing the table)."""
        for row in self.rows:
            yield [csv_cell(row.get(c.key), c.kind) for c in self.columns]


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
    # The range a report opens with: the last ``default_days`` days to today.
    default_days: int = 90
    # Shown as a tile on the director's dashboard: the first ``summary`` figure of the
    # report over the last 30 days ("0" when the summary is empty); keep that report quick.
    dashboard: bool = False


REGISTRY: dict[str, Report] = {}


def register(
    key: str,
    title: str,
    description: str,
    *,
    permission: str = "reports.view_reports",
    names_staff: bool = False,
    order: int = 100,
    default_days: int = 90,
    dashboard: bool = False,
) -> Callable[[Builder], Builder]:
    """Decorate a builder to list it as a report."""

    def wrap(build: Builder) -> Builder:
        if key in REGISTRY:
            raise ValueError(f"Report {key!r} is registered twice.")
        REGISTRY[key] = Report(
            key,
            title,
            description,
            build,
            permission,
            names_staff,
            order,
            default_days=default_days,
            dashboard=dashboard,
        )
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


def csv_cell(value: Any, kind: ColumnKind = "text") -> str:
    """One CSV cell. Dates are ISO (a month is its first day's year-month); a text that
    starts like a formula is quoted so a spreadsheet shows it instead of running it."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m") if kind == "month" else value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
