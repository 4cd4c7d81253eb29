"""The shared Python API the formulas, the reports and the CLI all use: load a book once, ask it many questions.

`book_from_range(raw, events=raw_events)` caches parsed books by the content of both ranges (a small LRU), so a
sheet full of formulas over one range parses it once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from .core.errors import BBBError, Problem, excel_error
from .core.money import format_money
from .core.periods import CALENDAR, Calendar
from .engine.book import Book, load_book

CACHE_SIZE = 4
_cache: "OrderedDict[tuple, tuple]" = OrderedDict()  # key -> (book, type-sensitive cells of each range)
_lock = threading.Lock()


def _freeze(rows) -> tuple:
    if isinstance(rows, tuple) and all(type(r) is tuple for r in rows):
        return rows
    if hasattr(rows, "columns"):  # a DataFrame: not hashable by content cheaply; key by identity
        return ("__frame__", id(rows))
    return tuple(tuple(r) if isinstance(r, (list, tuple)) else (r,) for r in (rows or ()))


class _RangeKey:
    """A range's content as a cache key, hashed once (a 10,000-row tuple costs ~1 ms to hash)."""

    __slots__ = ("value", "_hash")

    def __init__(self, value):
        self.value = value
        self._hash = hash(value)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _RangeKey) and self._hash == other._hash and self.value == other.value


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
    try:
        frozen_rows = _freeze(rows)
        frozen_events = None if events is None else _freeze(events)
        frozen_fx = None if fx is None else _freeze(fx)
        key = (_RangeKey(frozen_rows), None if events is None else _RangeKey(frozen_events), calendar,
               None if fx is None else _RangeKey(frozen_fx), reporting_currency)
        with _lock:
            entry = _cache.get(key)
            if entry is not None and _same_types(frozen_rows, entry[1]) and \
                    (frozen_events is None or _same_types(frozen_events, entry[2])) and \
                    (frozen_fx is None or _same_types(frozen_fx, entry[3])):
                _cache.move_to_end(key)
                return entry[0]
    except TypeError:  # an unhashable cell: parse without caching
        return load_book(rows, events=events, calendar=calendar, fx=fx, reporting_currency=reporting_currency)
    book = load_book(rows, events=events, calendar=calendar, fx=fx, reporting_currency=reporting_currency)
    entry = (book, _bool_sensitive(frozen_rows), () if frozen_events is None else _bool_sensitive(frozen_events),
             () if frozen_fx is None else _bool_sensitive(frozen_fx))
    with _lock:
        _cache[key] = entry
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
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


def load_file(path, sheet: str | None = None, calendar: Calendar = CALENDAR, *, decimal_comma: bool | None = None,
              date_order: str | None = None) -> Book:
    """A Book from a CSV or workbook file; problems carry sheet cell addresses. A bbb_xl workbook's Events and
    FX Rates tabs are read with its Contracts tab, its Settings Currency is the reporting currency, and its
    Settings Decimal separator, Date order and Time zone say how text amounts and dates are read.

    decimal_comma, date_order (ISO, MDY, DMY): override those settings (None: the workbook's, or the defaults).
    How a CSV was read (encoding, delimiter, report-title rows skipped) is in book.problems as `info`."""
    from dataclasses import replace

    from .core.options import DEFAULT, normalize_date_order
    from .files import read_table_file
    from .settings import read_parse_options
    table = read_table_file(path, sheet)
    rows, sheet_name, origin = table.rows, table.sheet, table.origin
    extra = {}
    options = DEFAULT
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
        if tabs.get("Settings"):
            options, problems = read_parse_options(tabs["Settings"], "Settings")
            if problems:
                raise BBBError(problems)
    if decimal_comma is not None:
        options = replace(options, decimal_comma=bool(decimal_comma))
    if date_order is not None:
        order = normalize_date_order(date_order)
        if order is None:
            raise BBBError(f"date order '{date_order}' is not ISO, MDY or DMY")
        options = replace(options, date_order=order)
    if table.delimiter == ";":  # 1,500 in a European export may be 1.5 or 1500: refused unless told
        options = replace(options, comma_ambiguous=True)
    book = load_book(rows, sheet=sheet_name, origin=origin, calendar=calendar, options=options, **extra)
    if table.notes:
        book.problems = tuple(Problem(None, None, None, note, "info", sheet_name) for note in table.notes) + \
            tuple(book.problems)
    return book


def file_schedule(path, metric: str, start, end, period=None, group_by=None, filter=None, sheet=None,
                  decimal_comma: bool | None = None, date_order: str | None = None) -> list[list]:
    """`bbb-xl schedule`: the schedule of a contracts file as rows (header first), Decimal money."""
    book = load_file(path, sheet, decimal_comma=decimal_comma, date_order=date_order)
    if book.errors:  # how the file was read (info) is for `check`; a refusal lists the problems
        raise BBBError([p for p in book.problems if p.severity != "info"])
    return book.schedule_for(metric, start, end, period, group_by, filter).to_rows()


def file_check(path, sheet=None, decimal_comma: bool | None = None, date_order: str | None = None) -> list[list]:
    """`bbb-xl check`: every problem of a contracts file with its cell; how a CSV was read as `info` rows."""
    book = load_file(path, sheet, decimal_comma=decimal_comma, date_order=date_order)
    n = len(book.lines)
    ok = ["OK", f"{n} line{'s' if n != 1 else ''}, no problems"]
    if not book.problems:
        return [ok]
    rows = [["Cell", "Value", "Severity", "Problem"]] + [
        [p.location, _cell_text(p.value), p.severity, p.message] for p in book.problems]
    if all(p.severity == "info" for p in book.problems):
        rows.append([ok[0], "", "", ok[1]])
    return rows


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
            out.append((label.strip() + suffix, format_money(value, summary.cell(4, 4))))  # D4: the currency
    return out


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    q, r = divmod(abs(int(cents)), 100)
    return f"{sign}{q:,}.{r:02d}"
