"""Dates as integer day numbers (days since 1970-01-01), Excel serials, and month arithmetic from an anchor.

Every period boundary is computed from its anchor (`anchor + k months`, clipped to month end, like dateutil's
relativedelta), never by chaining increments, so a 31 January start gives 28/29 Feb, 31 Mar, 30 Apr, ...
"""
from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np

EPOCH = dt.date(1970, 1, 1)
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9999, 12, 31)
MIN_DAY = (MIN_DATE - EPOCH).days
MAX_DAY = (MAX_DATE - EPOCH).days
_EXCEL_BASE = dt.date(1899, 12, 30)  # serial 61 = 1900-03-01; serials 1..59 are off by one (1900 leap-year bug)
MAX_SERIAL = (MAX_DATE - _EXCEL_BASE).days  # 2958465
_PLAIN = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
# 2025-03-15, optionally with a time (T or a space; seconds and fractions optional) and a zone (Z, +05:30, -0500)
_TIME = r"(?:[T ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(?:([AaPp])\.?[Mm]\.?)?)?"
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$")
# 03/15/2025, 15.03.2025, 15-03-2025 (the order is a setting), optionally with a time such as 10:32 AM
_NUMERIC = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME + r"$")


def day_number(d: dt.date) -> int:
    return (d.toordinal() - EPOCH.toordinal())


def to_date(day: int) -> dt.date:
    return dt.date.fromordinal(EPOCH.toordinal() + int(day))


def iso(day: int) -> str:
    return to_date(day).isoformat()


def serial_to_day(serial: float) -> int:
    """Excel 1900-system serial -> day number. Raises ValueError for serials Excel cannot mean."""
    whole = int(serial // 1)
    if whole == 60:
        raise ValueError("Excel serial 60 is 1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)")
    if whole < 1 or whole > MAX_SERIAL:
        raise ValueError(f"{serial:g} is outside Excel's dates (serial 1 to {MAX_SERIAL})")
    base = _EXCEL_BASE if whole > 60 else dt.date(1899, 12, 31)
    return day_number(base) + whole


def day_to_serial(day: int) -> int:
    serial = int(day) - day_number(_EXCEL_BASE)
    return serial if serial > 60 else serial - 1


def parse_date(value: object, options=None) -> int:
    """A cell value -> day number. datetime/date, Excel serial number, or text: ISO `2025-03-15`, and with a
    date order option (core.options.ParseOptions) `03/15/2025` (MDY) or `15/03/2025` (DMY).

    A time part is ignored: the date written is the date (a serial 45672.43 is 2025-01-15; a datetime object is
    its own date, as Excel cells have no zone). Text with `Z` or an offset (2025-01-16T02:00:00Z) is converted to
    the option's time zone (default UTC) before the date is taken."""
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a date")
    if isinstance(value, dt.datetime):
        d = value.date()
    elif isinstance(value, dt.date):
        d = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} is not a date")
        return serial_to_day(value)
    elif isinstance(value, str):
        m = _PLAIN.match(value)  # the common case, 2025-03-15, without the time and zone machinery
        if m:
            try:
                d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise ValueError(f"'{value}' is not a date that exists") from None
        else:
            d = _text_date(value, options)
    elif isinstance(value, np.datetime64):
        return parse_date(value.astype("M8[D]").astype(dt.date))
    else:
        raise ValueError(f"{value!r} is not a date")
    if not (MIN_DATE <= d <= MAX_DATE):
        raise ValueError(f"{d.isoformat()} is outside the dates Excel knows (1900-01-01 to 9999-12-31)")
    return day_number(d)


def _text_date(value: str, options) -> dt.date:
    text = value.strip()
    m = _ISO.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        zone = m.group(8)
    else:
        m = _NUMERIC.match(text)
        order = options.date_order if options is not None else "ISO"
        if not m:
            raise ValueError(f"'{value}' is not a date (write it as 2025-03-15, or use a date cell)")
        if order == "ISO":
            raise ValueError(f"'{value}' is not a date in ISO form (yyyy-mm-dd): set Date order (MDY or DMY) in "
                             f"Settings or --date-order")
        a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        mo, d = (a, b) if order == "MDY" else (b, a)
        zone = None
        try:
            dt.date(y, mo, d)
        except ValueError:
            words = "month/day/year" if order == "MDY" else "day/month/year"
            raise ValueError(f"'{value}' is not a date that exists in the Date order {order} ({words})") from None
    try:
        day = dt.date(y, mo, d)
    except ValueError:
        raise ValueError(f"'{value}' is not a date that exists") from None
    k = 4 if m.re is _ISO else 5  # first group of the time part
    hour, minute, second, half = m.group(k), m.group(k + 1), m.group(k + 2), m.group(k + 3)
    if hour is None:
        if zone is not None:
            raise ValueError(f"'{value}' has a time zone but no time (write 2025-03-15T10:30:00Z)")
        return day
    h, mi, sec = int(hour), int(minute), int(second or 0)
    if half is not None:  # 12-hour clock: 12:05 AM is 00:05
        if not 1 <= h <= 12:
            raise ValueError(f"'{value}' is not a time that exists")
        h = h % 12 + (12 if half in "Pp" else 0)
    if h > 23 or mi > 59 or sec > 59:
        raise ValueError(f"'{value}' is not a time that exists")
    if zone is None:
        return day  # a local time: the date written
    if zone in ("Z", "z", "UTC"):
        offset = dt.timedelta(0)
    else:
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset >= dt.timedelta(hours=24):
            raise ValueError(f"'{value}' has an offset that does not exist")
        offset = -offset if zone[0] == "-" else offset
    from .options import DEFAULT
    moment = dt.datetime(y, mo, d, h, mi, sec, tzinfo=dt.timezone(offset))
    try:
        return moment.astimezone((options or DEFAULT).zone).date()
    except OverflowError:
        raise ValueError(f"'{value}' is outside the dates Excel knows (1900-01-01 to 9999-12-31)") from None


# --- vectorised calendar -----------------------------------------------------------------------------------------

def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day (a table lookup inside the table's span: datetime64 casts are slow)."""
    days = np.asarray(days, dtype=np.int64)
    if days.size and _MONTH_STARTS[0] <= days.min() and days.max() < _MONTH_STARTS[-1]:
        return _month_of_day()[days - _MONTH_STARTS[0]].astype(np.int64)
    return days.astype("M8[D]").astype("M8[M]").astype(np.int64)


# month starts from 1899-01 (Start Date - 1 may be in 1899) to 10001-12 (billing may look past 9999)
_FIRST_MONTH = (1899 - 1970) * 12
_MONTH_STARTS = np.arange(_FIRST_MONTH, (10002 - 1970) * 12, dtype=np.int64).astype("M8[M]").astype(
    "M8[D]").astype(np.int64)


@functools.cache
def _month_of_day() -> np.ndarray:
    """Month index of every day from 1899-01-01 to 10001-12-31 (11 MiB of int32, built on first use)."""
    months = np.arange(_FIRST_MONTH, _FIRST_MONTH + len(_MONTH_STARTS) - 1, dtype=np.int32)
    return np.repeat(months, np.diff(_MONTH_STARTS))


def month_start(months: np.ndarray) -> np.ndarray:
    """Day number of the first day of each month index (a table lookup: datetime64 casts are slow)."""
    return _MONTH_STARTS[np.asarray(months, dtype=np.int64) - _FIRST_MONTH]


def days_in_month(months: np.ndarray) -> np.ndarray:
    i = np.asarray(months, dtype=np.int64) - _FIRST_MONTH
    return _MONTH_STARTS[i + 1] - _MONTH_STARTS[i]


def add_months(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """anchor + k months, day of month clipped to the target month's end (relativedelta semantics)."""
    days = np.asarray(days, dtype=np.int64)
    mi = month_index(days)
    dom = days - month_start(mi)  # 0-based
    target = mi + np.asarray(k, dtype=np.int64)
    return month_start(target) + np.minimum(dom, days_in_month(target) - 1)


def whole_months_until(anchor: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Largest m with anchor + m months <= stop (stop >= anchor)."""
    anchor = np.asarray(anchor, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    m = month_index(stop) - month_index(anchor)
    return m - (add_months(anchor, m) > stop)


def days_up_to(days: np.ndarray, x: np.ndarray) -> np.ndarray:
    """np.searchsorted(days, x, side="right"): how many of the sorted `days` are <= each x. When the days span
    a short range (a period grid), a table over that range answers by one gather instead of a binary search."""
    days = np.asarray(days, dtype=np.int64)
    x = np.asarray(x, dtype=np.int64)
    if not len(days) or days[-1] - days[0] > max(4 * x.size, 4096):
        return np.searchsorted(days, x, side="right")
    first = int(days[0]) - 1
    table = np.searchsorted(days, np.arange(first, int(days[-1]) + 1), side="right")  # table[0] = 0
    return table[np.clip(x - first, 0, len(table) - 1)]


# Monthly recognition: each day weighs 1/(days in its month). With UNIT divisible by 28, 29, 30 and 31 every
# day's weight is an integer, so cumulative weights are exact integers.
UNIT = 377580  # lcm(28, 29, 30, 31)

class MonthlyWeights:
    """Cumulative monthly weight C(d) (in UNITs) up to the end of each day, for days in [first, last].

    W(t) = C(t) - C(start - 1). A lookup table over the days a book spans: one gather per matrix cell."""

    def __init__(self, first: int, last: int):
        days = np.arange(first, last + 1, dtype=np.int64)
        mi = month_index(days)
        dom = days - month_start(mi) + 1
        self.first = first
        self.table = (mi * UNIT + dom * (UNIT // days_in_month(mi))).astype(np.int64)

    def __call__(self, days: np.ndarray) -> np.ndarray:
        return self.table[np.asarray(days, dtype=np.int64) - self.first]
