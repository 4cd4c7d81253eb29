"""Reporting periods: labels (`2025-03`, `2025-Q1`, `2025`, `FY2025-Q1`), windows and schedule grids."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from .errors import excel_error
from .dates import MAX_DAY, MIN_DAY, day_number, iso, month_index, month_start, parse_date, serial_to_day

PERIOD_KINDS = ("month", "quarter", "year")
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
_LABEL = re.compile(
    r"^(?:(?P<fy>FY)?(?P<y>\d{4})(?:-(?:(?P<q>Q[1-4])|(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?))?)$", re.IGNORECASE
)


@dataclass(frozen=True)
class Calendar:
    """Fiscal year start month (1 = calendar years). Fiscal years are named by the calendar year they end in."""

    fiscal_start_month: int = 1
    fiscal_labels: bool = False  # label years/quarters FY2025 / FY2025-Q1

    def __post_init__(self):
        if not (isinstance(self.fiscal_start_month, int) and 1 <= self.fiscal_start_month <= 12):
            raise ValueError(f"fiscal year start month must be 1 to 12, not {self.fiscal_start_month!r}")

    @property
    def _shift(self) -> int:
        return self.fiscal_start_month - 1

    def period_id(self, kind: str, month: int) -> int:
        """month index (months since 1970-01) -> period number of that kind."""
        if kind == "month":
            return month
        return (month - self._shift) // _MONTHS_PER[kind]

    def first_month(self, kind: str, pid: int) -> int:
        return pid if kind == "month" else pid * _MONTHS_PER[kind] + self._shift

    def fiscal_year(self, month: int) -> int:
        """Calendar year in which the fiscal year holding `month` ends."""
        first = self.first_month("year", self.period_id("year", month))
        return 1970 + (first + 11) // 12

    def label(self, kind: str, pid: int) -> str:
        first = self.first_month(kind, pid)
        if kind == "month":
            return f"{1970 + first // 12:04d}-{first % 12 + 1:02d}"
        fy = self.fiscal_year(first)
        prefix = "FY" if (self.fiscal_labels or self.fiscal_start_month != 1) else ""
        if kind == "year":
            return f"{prefix}{fy}"
        quarter = (first - self._shift) % 12 // 3 + 1
        return f"{prefix}{fy}-Q{quarter}"

    def bounds(self, kind: str, pid: int) -> tuple[int, int]:
        first = self.first_month(kind, pid)
        return int(month_start(first)), int(month_start(first + _MONTHS_PER[kind])) - 1


CALENDAR = Calendar()


@dataclass(frozen=True)
class Period:
    label: str
    first: int  # day numbers, inclusive
    last: int

    def __repr__(self) -> str:
        return f"Period({self.label!r}, {iso(self.first)}..{iso(self.last)})"


@dataclass(frozen=True)
class When:
    """A parsed start / end / as_of argument: its own span and what kind of thing the user gave."""

    first: int
    last: int
    kind: str  # "date" (a date or serial), "day", "month", "quarter", "year"


def parse_when(value: object, cal: Calendar = CALENDAR, what: str = "date") -> When:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{what} is missing")
    if isinstance(value, bool):
        raise ValueError(f"{what} {value} is not a date or period")
    err = excel_error(value)
    if err:
        raise ValueError(f"{what} is the Excel error {err}")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{what} {value} is not a date or period")
        if float(value).is_integer() and 1900 <= value <= 9999:  # a cell holding 2025 means the year
            return _label_when(f"{int(value)}", cal, what)
        day = serial_to_day(value)
        return When(day, day, "date")
    if isinstance(value, (dt.date, dt.datetime, np.datetime64)):
        day = parse_date(value)
        return When(day, day, "date")
    if isinstance(value, str):
        return _label_when(value.strip(), cal, what)
    raise ValueError(f"{what} {value!r} is not a date or period")


def _label_when(text: str, cal: Calendar, what: str) -> When:
    m = _LABEL.match(text)
    if not m:
        raise ValueError(f"{what} '{text}' is not a period (write 2025-03, 2025-Q1, 2025 or 2025-03-15)")
    y = int(m.group("y"))
    if not 1900 <= y <= 9999:
        raise ValueError(f"{what} '{text}': year {y} is outside 1900 to 9999")
    fiscal = bool(m.group("fy")) or cal.fiscal_start_month != 1
    if m.group("d"):
        try:
            day = day_number(dt.date(y, int(m.group("m")), int(m.group("d"))))
        except ValueError:
            raise ValueError(f"{what} '{text}' is not a date that exists") from None
        return When(day, day, "day")
    if m.group("m"):
        month = int(m.group("m"))
        if not 1 <= month <= 12:
            raise ValueError(f"{what} '{text}': month {month} is not 1 to 12")
        mi = (y - 1970) * 12 + month - 1
        return When(int(month_start(mi)), int(month_start(mi + 1)) - 1, "month")
    if fiscal:
        # FY2025 ends in calendar 2025: it starts fiscal_start_month of 2024 (or January 2025).
        first_year_month = (y - 1970) * 12 + cal._shift - (12 if cal.fiscal_start_month != 1 else 0)
    else:
        first_year_month = (y - 1970) * 12
    if m.group("q"):
        q = int(m.group("q")[1])
        first = first_year_month + (q - 1) * 3
        return When(int(month_start(first)), int(month_start(first + 3)) - 1, "quarter")
    return When(int(month_start(first_year_month)), int(month_start(first_year_month + 12)) - 1, "year")


def _month_of(day: int) -> tuple[int, int]:
    mi = int(month_index(np.int64(day)))
    return int(month_start(mi)), int(month_start(mi + 1)) - 1


def flow_window(start: object, end: object = None, cal: Calendar = CALENDAR) -> tuple[int, int]:
    """[first day, last day] of a flow. A date given alone means its calendar month."""
    s = parse_when(start, cal, "start")
    if end is None or (isinstance(end, str) and not end.strip()):
        first, last = _month_of(s.first) if s.kind == "date" else (s.first, s.last)
    else:
        e = parse_when(end, cal, "end")
        first, last = s.first, e.last
    if last < first:
        raise ValueError(f"end {iso(last)} is before start {iso(first)}")
    return first, last


def as_of_day(value: object, cal: Calendar = CALENDAR) -> int:
    """as_of: a label means the last day of that period; a date means that day."""
    return parse_when(value, cal, "as_of").last


def period_grid(first: int, last: int, kind: str = "month", cal: Calendar = CALENDAR) -> list[Period]:
    """The periods of `kind` covering [first, last], the first and last clipped to the window."""
    if kind not in PERIOD_KINDS:
        raise ValueError(f"period '{kind}' is not one of month, quarter, year")
    if last < first:
        raise ValueError(f"end {iso(last)} is before start {iso(first)}")
    p0 = cal.period_id(kind, int(month_index(np.int64(first))))
    p1 = cal.period_id(kind, int(month_index(np.int64(last))))
    periods = []
    for pid in range(p0, p1 + 1):
        a, b = cal.bounds(kind, pid)
        periods.append(Period(cal.label(kind, pid), max(a, first), min(b, last)))
    return periods


def schedule_window(start: object, end: object, cal: Calendar = CALENDAR) -> tuple[int, int]:
    s = parse_when(start, cal, "start")
    e = parse_when(end, cal, "end") if end is not None and not (isinstance(end, str) and not end.strip()) else s
    if e.last < s.first:
        raise ValueError(f"end {iso(e.last)} is before start {iso(s.first)}")
    return s.first, e.last


def normalize_period_kind(value: object) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "month"
    text = str(value).strip().lower()
    aliases = {"month": "month", "monthly": "month", "m": "month", "quarter": "quarter", "quarterly": "quarter",
               "q": "quarter", "year": "year", "yearly": "year", "annual": "year", "y": "year"}
    if text not in aliases:
        raise ValueError(f"period '{value}' is not one of month, quarter, year")
    return aliases[text]


__all__ = ["Calendar", "Period", "When", "parse_when", "flow_window", "as_of_day", "period_grid",
           "schedule_window", "normalize_period_kind", "PERIOD_KINDS", "MIN_DAY", "MAX_DAY"]
