"""The BBB_ formulas. Each one: convert arguments, one library call, translate errors into a one-line `#BBB!` text.

These are plain Python functions (callable from Python and tests); `bbb_xl.xl` registers them with xlwings.
Results are numbers rounded to cents (Excel cells are doubles: Decimal is converted at this last step only).
"""
from __future__ import annotations

import functools
from decimal import Decimal

from .api import check_rows, checked_book, book_from_range
from .core.errors import BBBError


def _excel(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_excel(v) for v in value]
    return value


def formula(fn):
    """Every failure becomes one line of text starting with #BBB!, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return _excel(fn(*args, **kwargs))
        except BBBError as exc:
            return exc.summary()
        except Exception as exc:  # noqa: BLE001 - a cell must show a message, not a crash
            text = " ".join(str(exc).split()) or type(exc).__name__
            return f"#BBB! unexpected error ({type(exc).__name__}): {text}"[:255]
    wrapper.__wrapped_formula__ = fn
    return wrapper


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@formula
def BBB_BOOKINGS(lines, start, end=None, filter=None):
    """Bookings: the Amounts of contract lines whose Booking Date falls in start..end (end omitted: start's own
    period; a date alone: its month). Example: =BBB_BOOKINGS(Contracts[#All], "2025-Q1")"""
    return checked_book(lines).flow("bookings", start, None if _blank(end) else end, filter)


@formula
def BBB_BILLINGS(lines, start, end=None, filter=None):
    """Billings: invoices dated in start..end, from each line's billing schedule.
    Example: =BBB_BILLINGS(Contracts[#All], "2025-01", "2025-12", "Region=EMEA")"""
    return checked_book(lines).flow("billings", start, None if _blank(end) else end, filter)


@formula
def BBB_REVENUE(lines, start, end=None, filter=None):
    """Revenue recognized in start..end (ASC 606: ratable by day or month, or point in time).
    Example: =BBB_REVENUE(Contracts[#All], "2025-Q1")"""
    return checked_book(lines).flow("revenue", start, None if _blank(end) else end, filter)


@formula
def BBB_BACKLOG(lines, as_of, filter=None):
    """Backlog (remaining performance obligations) at the end of as_of: booked amounts not yet recognized.
    Example: =BBB_BACKLOG(Contracts[#All], "2025-12")"""
    return checked_book(lines).balance("backlog", as_of, filter)


@formula
def BBB_DEFERRED(lines, as_of, filter=None):
    """Deferred revenue (contract liability) at the end of as_of: per contract, billed minus recognized when
    positive. Example: =BBB_DEFERRED(Contracts[#All], "2025-12")"""
    return checked_book(lines).balance("deferred", as_of, filter)


@formula
def BBB_UNBILLED(lines, as_of, filter=None):
    """Unbilled receivable (contract asset) at the end of as_of: per contract, recognized minus billed when
    positive. Example: =BBB_UNBILLED(Contracts[#All], "2025-12")"""
    return checked_book(lines).balance("unbilled", as_of, filter)


@formula
def BBB_RPO(lines, as_of, filter=None):
    """Remaining performance obligations at as_of split into within 12 months / after, and the total (3 x 2).
    Example: =BBB_RPO(Contracts[#All], "2025-12-31")"""
    within, after = checked_book(lines).rpo(as_of, filter)
    return [["Within 12 months", within], ["After 12 months", after], ["Total", within + after]]


@formula
def BBB_SCHEDULE(lines, metric, start, end, period=None, group_by=None, filter=None):
    """A table of bookings, billings, revenue (per period) or backlog, deferred, unbilled (at period ends) from
    start to end, by month/quarter/year, one row per group_by value plus Total. Spills.
    Example: =BBB_SCHEDULE(Contracts[#All], "revenue", "2025-01", "2025-12", "quarter", "Region")"""
    book = checked_book(lines)
    schedule = book.schedule_for(metric, start, end, period, None if _blank(group_by) else group_by, filter)
    return schedule.to_rows()


@formula
def BBB_CHECK(lines):
    """Every problem in a contracts range: row, column, value, severity and message, or one OK row with the
    line count. Example: =BBB_CHECK(Contracts[#All])"""
    return check_rows(book_from_range(lines))


PUBLIC_FUNCTIONS = ["BBB_BOOKINGS", "BBB_BILLINGS", "BBB_REVENUE", "BBB_BACKLOG", "BBB_DEFERRED", "BBB_UNBILLED",
                    "BBB_RPO", "BBB_SCHEDULE", "BBB_CHECK"]
