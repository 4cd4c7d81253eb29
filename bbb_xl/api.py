"""The shared Python API the formulas, the reports and the CLI all use: load a book once, ask it many questions.

`book_from_range(raw, events=raw_events)` caches parsed books by the content of the ranges (a small LRU), so a
sheet full of formulas over one range parses it once and each later formula pays one comparison of the range.
"""
from __future__ import annotations

import threading

from .core.errors import BBBError, Problem, excel_error
from .core.periods import CALENDAR, Calendar
from .engine.book import Book, load_book

CACHE_SIZE = 4
# most recently used last: (rows, events, fx, calendar, reporting currency, book, type-sensitive cells of each range)
_cache: list = []
_lock = threading.Lock()


def _freeze(rows) -> tuple:
    if isinstance(rows, tuple) and all(type(r) is tuple for r in rows):
        return rows
    if hasattr(rows, "columns"):  # a DataFrame: not comparable by content cheaply; key by identity
        return ("__frame__", id(rows))
    return tuple(tuple(r) if isinstance(r, (list, tuple)) else (r,) for r in (rows or ()))


def _bool_sensitive(frozen) -> tuple:
    """Cells whose value equals 0 or 1, with their type. Python says True == 1 == 1.0, so two ranges can be
    equal while one holds TRUE where the other holds 1: a cache hit must also match these cells' types."""
    out = []
    for i, row in enumerate(frozen):
        if not isinstance(row, tuple):
            continue
        for j, v in enumerate(row):
            t = type(v)
            if (t is bool or t is int or t is float) and (v == 0 or v == 1):
                out.append((i, j, t))
    return tuple(out)


def _same_types(frozen, sensitive) -> bool:
    try:
        return all(type(frozen[i][j]) is t for i, j, t in sensitive)
    except (IndexError, TypeError):
        return False


def _same_range(cached, frozen) -> bool:
    """Equal content, cheapest test first. Excel hands a range over as new objects on every call, so there is no
    identity to compare; one equality pass (no hash: hashing every cell and then comparing them costs about
    three times as much, see benchmarks/bench_udf_cost.py) is all an unchanged range costs."""
    if cached is None or frozen is None:
        return cached is frozen
    if len(cached) != len(frozen) or (cached and len(cached[0]) != len(frozen[0])):
        return False
    return cached == frozen


def _no_events(events) -> bool:
    """An omitted events argument, or a blank cell / an all-blank range: no events."""
    if events is None:
        return True
    if hasattr(events, "columns"):
        return False
    if isinstance(events, str):
        return not events.strip()
    if isinstance(events, (list, tuple)):
        return all(_no_events(v) if isinstance(v, (list, tuple, str)) or v is None else False for v in events)
    return False


def book_from_range(rows, calendar: Calendar = CALENDAR, events=None, fx=None, reporting_currency=None) -> Book:
    """A Book for a contracts range (and optional events and FX ranges), parsed once per distinct content of all
    (LRU of CACHE_SIZE books; equal content with TRUE where 1 was is a different range)."""
    events = None if _no_events(events) else events
    fx = None if _no_events(fx) else fx
    frozen_rows = _freeze(rows)
    frozen_events = None if events is None else _freeze(events)
    frozen_fx = None if fx is None else _freeze(fx)
    with _lock:
        for k in range(len(_cache) - 1, -1, -1):
            c_rows, c_events, c_fx, c_cal, c_cur, book, sensitive = _cache[k]
            if c_cal == calendar and c_cur == reporting_currency and _same_range(c_rows, frozen_rows) \
                    and _same_range(c_events, frozen_events) and _same_range(c_fx, frozen_fx) \
                    and all(_same_types(f, s) for f, s in zip((frozen_rows, frozen_events, frozen_fx), sensitive)
                            if f is not None):
                _cache.append(_cache.pop(k))
                return book
    book = load_book(rows, events=events, calendar=calendar, fx=fx, reporting_currency=reporting_currency)
    sensitive = tuple(() if f is None else _bool_sensitive(f) for f in (frozen_rows, frozen_events, frozen_fx))
    with _lock:
        _cache.append((frozen_rows, frozen_events, frozen_fx, calendar, reporting_currency, book, sensitive))
        del _cache[:-CACHE_SIZE]
    return book


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def checked_book(rows, calendar: Calendar = CALENDAR, events=None, fx=None) -> Book:
    """A Book with no errors (in the contracts, events or FX range), or BBBError naming the first problem."""
    book = book_from_range(rows, calendar, events, fx)
    book.require_ok()
    return book


def check_rows(book: Book) -> list[list]:
    """BBB_CHECK's table: every problem as [row, column, value, severity, problem], or one OK row.

    Row is the row within its range (1 = the header row): a number for the contracts range, text `Events N`
    for row N of the events range and `FX N` for row N of the FX range."""
    if not book.problems:
        n = len(book.lines)
        return [["OK", f"{n} line{'s' if n != 1 else ''}, no problems"]]
    header = ["Row", "Column", "Value", "Severity", "Problem"]
    return [header] + [[_row_text(p), p.column or "", _cell_text(p.value), p.severity, p.message]
                       for p in book.problems]


def _row_text(p: Problem):
    if p.table == "events":
        return "Events" if p.row is None else f"Events {p.row}"
    if p.table == "fx":
        return "FX" if p.row is None else f"FX {p.row}"
    return p.row


def _cell_text(value) -> str:
    from .core.errors import show_value
    return "" if value is None else show_value(value)


__all__ = ["book_from_range", "checked_book", "check_rows", "clear_cache", "allocation_column", "BBBError", "Problem",
           "Book"]


def allocation_column(total, ssps) -> list:
    """BBB_ALLOCATE: total (an Amount) allocated in proportion to ssps (standalone selling prices), exactly:
    cents by largest remainder, ties to the earlier row. ssps: a value or rows of values (a column or a row).
    Returns the same shape as ssps (rows of Decimal)."""
    from .core.errors import show_value
    from .core.money import cents_to_decimal, parse_amount
    from .engine.allocation import allocate
    if total is None or (isinstance(total, str) and not total.strip()):
        raise BBBError("total is missing")
    try:
        price = parse_amount(total)
    except ValueError as exc:
        raise BBBError(f"total {exc}") from None
    if isinstance(ssps, (list, tuple)) and ssps and isinstance(ssps[0], (list, tuple)):
        grid = [list(r) for r in ssps]
    elif isinstance(ssps, (list, tuple)):
        grid = [[v] for v in ssps]
    else:
        grid = [[ssps]]
    flat = [v for r in grid for v in r]
    if not flat:
        raise BBBError("ssps is empty")
    weights = []
    for k, v in enumerate(flat, start=1):
        if v is None or (isinstance(v, str) and not v.strip()):
            raise BBBError(f"SSP {k} of ssps is blank (0 for a line with no standalone value)")
        if excel_error(v):
            raise BBBError(f"SSP {k} of ssps is the Excel error {excel_error(v)}")
        try:
            cents = parse_amount(v)
        except ValueError as exc:
            raise BBBError(f"SSP {k} of ssps: {exc}") from None
        if cents < 0:
            raise BBBError(f"SSP {k} of ssps ({show_value(v)}) is negative: a standalone selling price is 0 or more")
        weights.append(cents)
    if not any(weights):
        raise BBBError("the SSPs are all 0: the total cannot be allocated in proportion to them")
    parts = iter(cents_to_decimal(c) for c in allocate(price, weights))
    return [[next(parts) for _ in r] for r in grid]


def load_file(path, sheet: str | None = None, calendar: Calendar = CALENDAR) -> Book:
    """A Book from a CSV or workbook file; problems carry sheet cell addresses. A bbb_xl workbook's Events and
    FX Rates tabs are read with its Contracts tab, and its Settings Currency is the reporting currency."""
    from .files import read_table
    rows, sheet_name, origin = read_table(path, sheet)
    extra = {}
    if str(path).lower().endswith((".xlsx", ".xlsm")) and sheet_name == "Contracts":
        from .xlsx_reader import read_sheets
        tabs = read_sheets(path, [], optional=["Events", "FX Rates", "Settings"])
        if tabs.get("Events"):
            extra.update(events=tabs["Events"], events_origin=(1, 1))
        if tabs.get("FX Rates"):
            extra.update(fx=tabs["FX Rates"], fx_origin=(1, 1))
            currency = next((r[1] for r in tabs.get("Settings", []) if len(r) > 1 and isinstance(r[0], str)
                             and r[0].strip().casefold() == "currency" and isinstance(r[1], str)), None)
            if currency:
                extra["reporting_currency"] = currency.strip().upper()
    return load_book(rows, sheet=sheet_name, origin=origin, calendar=calendar, **extra)


def file_schedule(path, metric: str, start, end, period=None, group_by=None, filter=None, sheet=None) -> list[list]:
    """`bbb-xl schedule`: the schedule of a contracts file as rows (header first), Decimal money."""
    book = load_file(path, sheet)
    book.require_ok()
    return book.schedule_for(metric, start, end, period, group_by, filter).to_rows()


def file_check(path, sheet=None) -> list[list]:
    """`bbb-xl check`: every problem of a contracts file with its cell."""
    book = load_file(path, sheet)
    if not book.problems:
        n = len(book.lines)
        return [["OK", f"{n} line{'s' if n != 1 else ''}, no problems"]]
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
