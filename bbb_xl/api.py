"""The shared Python API the formulas, the reports and the CLI all use: load a book once, ask it many questions.

`book_from_range(raw)` caches parsed books by the content of the range (a small LRU), so a sheet full of
formulas over one range parses it once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from .core.errors import BBBError, Problem
from .core.periods import CALENDAR, Calendar
from .engine.book import Book, load_book

CACHE_SIZE = 4
_cache: "OrderedDict[tuple, Book]" = OrderedDict()
_lock = threading.Lock()


def _freeze(rows) -> tuple:
    if isinstance(rows, tuple) and all(type(r) is tuple for r in rows):
        return rows
    if hasattr(rows, "columns"):  # a DataFrame: not hashable by content cheaply; key by identity
        return ("__frame__", id(rows))
    return tuple(tuple(r) if isinstance(r, (list, tuple)) else (r,) for r in (rows or ()))


def book_from_range(rows, calendar: Calendar = CALENDAR) -> Book:
    """A Book for a range, parsed once per distinct content (LRU of CACHE_SIZE books)."""
    key = (_freeze(rows), calendar)
    try:
        with _lock:
            book = _cache.get(key)
            if book is not None:
                _cache.move_to_end(key)
                return book
    except TypeError:  # an unhashable cell: parse without caching
        return load_book(rows, calendar=calendar)
    book = load_book(rows, calendar=calendar)
    with _lock:
        _cache[key] = book
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return book


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def checked_book(rows, calendar: Calendar = CALENDAR) -> Book:
    """A Book with no errors, or BBBError naming the first problem."""
    book = book_from_range(rows, calendar)
    book.require_ok()
    return book


def check_rows(book: Book) -> list[list]:
    """BBB_CHECK's table: every problem as [row, column, value, severity, problem], or one OK row."""
    if not book.problems:
        return [["OK", f"{len(book.lines)} lines, no problems"]]
    header = ["Row", "Column", "Value", "Severity", "Problem"]
    return [header] + [[p.row, p.column or "", _cell_text(p.value), p.severity, p.message] for p in book.problems]


def _cell_text(value) -> str:
    from .core.errors import show_value
    return "" if value is None else show_value(value)


__all__ = ["book_from_range", "checked_book", "check_rows", "clear_cache", "BBBError", "Problem", "Book"]


def load_file(path, sheet: str | None = None, calendar: Calendar = CALENDAR) -> Book:
    """A Book from a CSV or workbook file; problems carry sheet cell addresses."""
    from .files import read_table
    rows, sheet_name, origin = read_table(path, sheet)
    return load_book(rows, sheet=sheet_name, origin=origin, calendar=calendar)


def file_schedule(path, metric: str, start, end, period=None, group_by=None, filter=None, sheet=None) -> list[list]:
    """`bbb-xl schedule`: the schedule of a contracts file as rows (header first), Decimal money."""
    book = load_file(path, sheet)
    book.require_ok()
    return book.schedule_for(metric, start, end, period, group_by, filter).to_rows()


def file_check(path, sheet=None) -> list[list]:
    """`bbb-xl check`: every problem of a contracts file with its cell."""
    book = load_file(path, sheet)
    if not book.problems:
        return [["OK", f"{len(book.lines)} lines, no problems"]]
    return [["Cell", "Value", "Severity", "Problem"]] + [
        [p.location, _cell_text(p.value), p.severity, p.message] for p in book.problems]


def format_table(rows: list[list]) -> str:
    """A readable fixed-width table; numbers right-aligned with thousands separators."""
    def cell(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) or hasattr(v, "quantize"):
            return f"{v:,.2f}"
        return "" if v is None else str(v)
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in text) for i in range(max(map(len, text)))]
    numeric = [any(hasattr(r[i], "quantize") for r in rows[1:] if i < len(r)) for i in range(len(widths))]
    out = []
    for r in text:
        out.append("  ".join((c.rjust(w) if num else c.ljust(w)) for c, w, num in zip(r, widths, numeric)).rstrip())
    return "\n".join(out)


def refresh_summary(reports) -> list[tuple[str, str]]:
    """A few headline figures of a refreshed workbook's Summary, as (label, text) for the CLI."""
    if reports is None or "Summary" not in reports.sheets:
        return []
    summary = reports.sheets["Summary"]
    out = []
    for row in (7, 8, 9, 13, 16, 17):
        label = summary.cell(row, 1)
        value = summary.cell(row, 4 if row < 12 else 2)
        if isinstance(label, str) and isinstance(value, int):
            suffix = " (year to date)" if row < 12 else ""
            out.append((label.strip() + suffix, _money(value)))
    return out


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    q, r = divmod(abs(int(cents)), 100)
    return f"{sign}{q:,}.{r:02d}"
