"""The shared Python API the formulas, the reports and the CLI all use: load a book once, ask it many questions.

`book_from_range(raw, events=raw_events)` caches parsed books by the content of the ranges (a small LRU), so a
sheet full of formulas over one range parses it once and each later formula pays one comparison of the range.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from .core.errors import BBBError, Problem, excel_error
from .core.money import format_money
from .core.periods import CALENDAR, Calendar
from .engine.book import METRICS, Book, load_book

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
    try:
        frozen_rows = _freeze(rows)
        frozen_events = None if events is None else _freeze(events)
        frozen_fx = None if fx is None else _freeze(fx)
    except TypeError:  # not rows of cells (a bare value): parsed, and refused with a message, without caching
        return load_book(rows, events=events, calendar=calendar, fx=fx, reporting_currency=reporting_currency)
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
        _closed_cache.clear()
        _opening_cache.clear()


_opening_cache: list = []  # (key, book): books with opening balances, apart so the main cache stays as it is


def opening_book(rows, calendar: Calendar = CALENDAR, events=None, fx=None, opening=None, cutover=None,
                 tiers=None) -> Book:
    """A Book with an Opening Balances range and a Cutover Date (engine.cutover), or a Price Tiers range
    (engine.usage), parsed once per distinct content (LRU of CACHE_SIZE; a range that cannot be compared is parsed
    each time)."""
    from .engine.book import load_book as _load
    events = None if _no_events(events) else events
    fx = None if _no_events(fx) else fx
    tiers = None if _no_events(tiers) else tiers
    try:
        frozen = tuple(None if x is None else _freeze(x) for x in (rows, events, fx, opening, tiers))
        # TRUE == 1 in Python: the type of each 0/1 cell is part of the key
        key = frozen + tuple(() if f is None else _bool_sensitive(f) for f in frozen) + (
            type(cutover), cutover, calendar)
    except TypeError:
        key = None
    if key is not None:
        with _lock:
            for k in range(len(_opening_cache) - 1, -1, -1):
                if _opening_cache[k][0] == key:
                    _opening_cache.append(_opening_cache.pop(k))
                    return _opening_cache[-1][1]
    book = _load(rows, events=events, calendar=calendar, fx=fx, opening=opening, cutover=cutover, tiers=tiers,
                 tiers_sheet="Price Tiers" if tiers is not None else None)
    if key is not None:
        with _lock:
            _opening_cache.append((key, book))
            del _opening_cache[:-CACHE_SIZE]
    return book


def checked_book(rows, calendar: Calendar = CALENDAR, events=None, fx=None, as_of=None, opening=None,
                 cutover=None, fx_method=None, tiers=None) -> Book:
    """A Book with no errors (in the contracts, events or FX range), or BBBError naming the first problem.
    as_of: evergreen lines renew up to the term containing this day (a period label: its last day; blank: today).
    opening / cutover: an Opening Balances range and the Cutover Date (engine.cutover; both blank: none).
    fx_method: booking rate (blank) or IFRIC 22 (engine.fx_ifric22).
    tiers: a Price Tiers range for usage lines (engine.usage; blank: none)."""
    if _no_events(opening) and _no_events(cutover) and _no_events(tiers):
        book = book_from_range(rows, calendar, events, fx)
    else:
        book = opening_book(rows, calendar, events, fx, opening, cutover, tiers)
    if not _no_events(fx_method):  # booking rate | IFRIC 22 (engine.fx_ifric22), a copy kept by the book
        book = book.with_fx_method(fx_method)
    book.require_ok()
    return evergreen_book(book, as_of)


def evergreen_book(book: Book, as_of=None) -> Book:
    """book with its evergreen lines renewed up to the term containing as_of (a date or period label; blank:
    today); the book itself when it has none (engine.evergreen)."""
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return book.evergreen_at(None)
    from .core.periods import as_of_day
    try:
        day = as_of_day(as_of, book.calendar)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    return book.evergreen_at(day)


def check_rows(book: Book, filter=None) -> list[list]:
    """BBB_CHECK's table: every problem as [row, column, value, severity, problem], or one OK row.

    Row is the row within its range (1 = the header row): a number for the contracts range, text `Events N`
    for row N of the events range and `FX N` for row N of the FX range. With a filter: a filter error is an
    error row, and each value that matches no line an `info` row (the formulas give 0 for it). A customer whose
    MRR goes below 0 (net credits) is a warning at its line with the lowest Amount."""
    problems = list(book.problems) + filter_problems(book, filter) + negative_arr_problems(book)
    if not problems:
        n = len(book.lines)
        return [["OK", f"{n} line{'s' if n != 1 else ''}, no problems"]]
    header = ["Row", "Column", "Value", "Severity", "Problem"]
    return [header] + [[_row_text(p), p.column or "", _cell_text(p.value), p.severity, p.message]
                       for p in problems]


INFO = "info"


def negative_arr_problems(book: Book) -> list[Problem]:
    """A warning per customer whose MRR is below 0 on some day (net credits: counted as 0 in ARR and the ARR
    bridge), located at the customer's recurring line with the lowest Amount (its Amount cell)."""
    import numpy as np
    from .core.dates import iso
    from .core.errors import WARNING, column_letter
    from .core.money import cents_to_decimal, round_half_away
    from .engine.metrics import first_negative_days, recurring_mask
    from .engine.table import normalize_header
    if not len(book.lines):
        return []
    found = first_negative_days(book, np.arange(len(book.lines)))
    if not found:
        return []
    lines, parsed = book.lines, book.parsed
    recurring = recurring_mask(book)
    keys = [normalize_header(c) for c in parsed.columns]
    col = keys.index("amount") if "amount" in keys else None
    out = []
    names = lines.customer.astype(str)
    candidates = np.flatnonzero(recurring & np.isin(names, list(found)))
    by_customer: dict = {}
    for k in candidates.tolist():
        by_customer.setdefault(names[k], []).append(k)
    for customer, (day, mrr) in sorted(found.items()):
        i = min(by_customer[customer], key=lambda k: (int(lines.amount[k]), int(lines.row[k])))
        row = int(lines.row[i])
        cell = None
        if parsed.origin is not None and col is not None:
            cell = f"{column_letter(parsed.origin[1] + col)}{parsed.origin[0] + row - 1}"
        a_month = cents_to_decimal(round_half_away(mrr.numerator, mrr.denominator))
        out.append(Problem(row, "Amount", cents_to_decimal(int(lines.amount[i])),
                           f"customer '{customer}' has negative MRR ({a_month} a month) from {iso(day)} (net "
                           f"credits): counted as 0 in ARR, customers and the ARR bridge", WARNING, cell=cell))
    return out


def filter_problems(book: Book, filter) -> list[Problem]:
    """A filter's error, or one `info` problem per value that matches no line."""
    if filter is None or (isinstance(filter, str) and not filter.strip()):
        return []
    try:
        misses = book.filter_lines(str(filter)).misses
    except BBBError as exc:
        return [Problem(None, None, filter, p.message, table="filter") for p in exc.problems]
    return [Problem(None, m.column, m.value, f"filter '{m.clause}': no line has {m.column} '{m.value}' yet: "
                    f"the formulas give 0 for it", severity=INFO, table="filter") for m in misses]


def _row_text(p: Problem):
    if p.table == "events":
        return "Events" if p.row is None else f"Events {p.row}"
    if p.table == "fx":
        return "FX" if p.row is None else f"FX {p.row}"
    if p.table == "filter":
        return "Filter"
    if p.table == "opening":
        return "Opening" if p.row is None else f"Opening {p.row}"
    if p.table == "tiers":
        return "Price Tiers" if p.row is None else f"Price Tiers {p.row}"
    return p.row


def _cell_text(value) -> str:
    from .core.errors import show_value
    return "" if value is None else show_value(value)


__all__ = ["book_from_range", "checked_book", "evergreen_book", "check_rows", "clear_cache", "allocation_column", "BBBError", "Problem",
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


def load_file(path, sheet: str | None = None, calendar: Calendar | None = None, *, events=None, fx=None,
              as_of=None, decimal_comma: bool | None = None, date_order: str | None = None) -> Book:
    """A Book from a CSV or workbook file; problems carry sheet cell addresses. A bbb_xl workbook's Events,
    FX Rates, Price Tiers and Opening Balances tabs are read with its Contracts tab (the opening balances at its
    Settings Cutover Date, docs/cutover.md), its Settings Currency is the reporting currency, its FX method
    translates the other currencies (engine.fx_ifric22), its Fiscal year start month sets the calendar (unless
    `calendar` is given; else calendar years), and its Settings Decimal separator, Date order and Time zone say how
    text amounts and dates are read.

    events / fx: another file holding the events / FX rates (a CSV, or a workbook's Events / FX Rates tab),
    read instead of the workbook's own tab. as_of: events dated after this day (or period) are ignored.
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
        tabs = read_sheets(path, [], optional=["Events", "FX Rates", "Settings", "Price Tiers", "Opening Balances"])
        if tabs.get("Price Tiers") and len(tabs["Price Tiers"]) > 1:  # usage lines' tiers (engine.usage)
            extra.update(tiers=tabs["Price Tiers"], tiers_sheet="Price Tiers", tiers_origin=(1, 1))
        if tabs.get("Events"):
            extra.update(events=tabs["Events"], events_origin=(1, 1))
        if tabs.get("FX Rates"):
            extra.update(fx=tabs["FX Rates"], fx_origin=(1, 1))
        settings_rows = tabs.get("Settings") or []
        currency = next((v for v in _setting_values(settings_rows, "currency") if isinstance(v, str)), None)
        if currency and (tabs.get("FX Rates") or fx is not None):
            extra["reporting_currency"] = currency.strip().upper()
        method = next((v for v in _setting_values(settings_rows, "fx method") if isinstance(v, str) and v.strip()),
                      None)
        if method:  # booking rate | IFRIC 22 (engine.fx_ifric22)
            extra["fx_method"] = method
        if tabs.get("Settings"):
            options, problems = read_parse_options(tabs["Settings"], "Settings")
            if problems:
                raise BBBError(problems)
        calendar, opening = _workbook_calendar_and_opening(tabs, calendar)
        extra.update(opening or {})
    calendar = calendar or CALENDAR
    if decimal_comma is not None:
        options = replace(options, decimal_comma=bool(decimal_comma))
    if date_order is not None:
        order = normalize_date_order(date_order)
        if order is None:
            raise BBBError(f"date order '{date_order}' is not ISO, MDY or DMY")
        options = replace(options, date_order=order)
    if table.delimiter == ";":  # 1,500 in a European export may be 1.5 or 1500: refused unless told
        options = replace(options, comma_ambiguous=True)
    if events is not None:
        extra.update(zip(("events", "events_sheet", "events_origin"), _side_table(events, "Events")))
    if fx is not None:
        extra.update(zip(("fx", "fx_sheet", "fx_origin"), _side_table(fx, "FX Rates")))
    if as_of is not None and extra.get("events"):
        extra["events"] = events_until(extra["events"], _args_day(as_of, calendar))
    if as_of is not None:  # evergreen lines renew up to the term containing it (default today)
        extra["as_of"] = _args_day(as_of, calendar)
    book = load_book(rows, sheet=sheet_name, origin=origin, calendar=calendar, options=options, **extra)
    if table.notes:
        book.problems = tuple(Problem(None, None, None, note, "info", sheet_name) for note in table.notes) + \
            tuple(book.problems)
    return book


def _setting_values(rows, name: str):
    """The Value cells of the Settings rows named `name` (case and spaces around ignored), in row order: what a
    file read needs from Settings that it does not otherwise check (parse_settings checks them all)."""
    return (r[1] for r in rows if len(r) > 1 and isinstance(r[0], str) and r[0].strip().casefold() == name)


def _workbook_calendar_and_opening(tabs: dict, calendar: Calendar | None) -> tuple:
    """(calendar, opening) of a bbb_xl workbook as its reports read them: the Settings fiscal calendar (when
    `calendar` is None) and, when the Opening Balances tab has rows, {opening, cutover: its Settings Cutover Date
    (None: the engine locates the missing date on those rows)} for load_book. Settings these do not need are not
    checked here; when one is needed and the Settings cannot be used: BBBError with their problems."""
    from .settings import parse_settings
    rows = tabs.get("Settings") or []
    opening = tabs.get("Opening Balances") or []
    has_opening = any(any(v not in (None, "") for v in r) for r in opening[1:])
    fiscal = next(_setting_values(rows, "fiscal year start month"), None)
    needs_fiscal = calendar is None and fiscal not in (None, "", 1, 1.0, "1")
    if not (has_opening or needs_fiscal):
        return calendar, None
    settings, problems = parse_settings(rows, sheet="Settings")
    if settings is None:
        needed = "the Cutover Date of the Opening Balances" if has_opening else "the fiscal calendar"
        raise BBBError(list(problems) + [Problem(None, None, None, f"the Settings cannot be used, and the figures "
                                                                   f"need {needed}: nothing computed")])
    from .core.dates import iso
    cutover = iso(settings.cutover) if settings.cutover is not None else None  # load_book reads a number as a serial
    extra = {"opening": opening, "cutover": cutover, "opening_sheet": "Opening Balances",
             "opening_origin": (1, 1)} if has_opening else None
    return calendar or settings.calendar, extra


def _side_table(path, tab: str):
    """(rows, sheet name, origin) of an events / FX file: a CSV, or the workbook's tab of that name."""
    from .files import read_table
    workbook = str(path).lower().endswith((".xlsx", ".xlsm"))
    return read_table(path, tab if workbook else None)


def _args_day(value, calendar) -> int:
    from .core.periods import as_of_day
    try:
        return as_of_day(value, calendar)
    except ValueError as exc:
        raise BBBError(f"--as-of: {exc}") from None


def events_until(rows, day: int):
    """The events rows with those dated after `day` blanked (blank rows are skipped, so the other rows keep their
    row numbers for messages). A date that cannot be read is kept: the engine reports it."""
    from .core.dates import parse_date
    from .engine.table import normalize_header
    rows = [list(r) for r in rows]
    if not rows:
        return rows
    col = next((j for j, h in enumerate(rows[0]) if isinstance(h, str) and normalize_header(h) == "date"), None)
    if col is None:
        return rows
    for i in range(1, len(rows)):
        value = rows[i][col] if col < len(rows[i]) else None
        try:
            later = value is not None and parse_date(value) > day
        except ValueError:
            later = False
        if later:
            rows[i] = [None] * len(rows[i])
    return rows


# --- schedules by metric: each entry builds the rows of one metric; adding a metric is one line ------------------

def _engine_schedule(metric: str):
    def build(book: Book, first: int, last: int, kind: str, group_by, sel) -> list[list]:
        return book.schedule(metric, first, last, kind, group_by, sel).to_rows()
    return build


def _at_period_ends(value_cents):
    """A metric valued at each period's last day by value_cents(book, day, selection) -> cents; per group and
    Total (the sum of the groups: these metrics add up over lines)."""
    def build(book: Book, first: int, last: int, kind: str, group_by, sel) -> list[list]:
        from .core.money import cents_to_decimal
        from .core.periods import period_grid
        periods = period_grid(first, last, kind, book.calendar)
        if group_by:
            labels, codes = book._groups(group_by, sel)
            parts = [(label, sel[codes[sel] == g]) for g, label in enumerate(labels)]
            name = book.column_text(group_by)[0]
        else:
            parts, name = [], None
        rows = [[label] + [value_cents(book, p.last, part) for p in periods] for label, part in parts]
        total = [sum(col) for col in zip(*(r[1:] for r in rows))] if rows else \
            [value_cents(book, p.last, sel) for p in periods]
        rows.append(["Total"] + total)
        return [[name or "Total"] + [p.label for p in periods]] + \
            [[r[0]] + [cents_to_decimal(c) for c in r[1:]] for r in rows]
    return build


SCHEDULE_METRICS = {
    **{m: _engine_schedule(m) for m in METRICS},
    "arr": lambda book, first, last, kind, group_by, sel: book.metric_schedule("arr", first, last, kind, group_by, sel).to_rows(),
    "mrr": lambda book, first, last, kind, group_by, sel: book.metric_schedule("mrr", first, last, kind, group_by, sel).to_rows(),
    "customers": lambda book, first, last, kind, group_by, sel: book.metric_schedule("customers", first, last, kind, group_by, sel).to_rows(),
    "rpo_within": _at_period_ends(lambda book, day, sel: book.rpo_cents(day, sel)[0]),
    "rpo_after": _at_period_ends(lambda book, day, sel: book.rpo_cents(day, sel)[1]),
    "deferred_current": _at_period_ends(lambda book, day, sel: book.deferred_split_cents(day, sel)[0]),
    "deferred_noncurrent": _at_period_ends(lambda book, day, sel: book.deferred_split_cents(day, sel)[1]),
    "refund_liability": _at_period_ends(lambda book, day, sel: book.refund_liability_cents(day, sel)),
}


@dataclass(frozen=True)
class FileSchedule:
    """`bbb-xl schedule`'s answer: the rows (header first, Decimal money) and, with skip_bad, what was left out."""

    rows: list
    problems: tuple  # every problem of the input (errors left their contracts out when skip_bad)
    excluded_contracts: tuple

    @property
    def partial(self) -> bool:
        return bool(self.excluded_contracts) or any(p.is_error for p in self.problems)


def file_schedule(path, metric: str, start, end, period=None, group_by=None, filter=None, sheet=None, *,
                  events=None, fx=None, as_of=None, skip_bad: bool = False, progress=None,
                  decimal_comma: bool | None = None, date_order: str | None = None,
                  recomputed: bool = False) -> FileSchedule:
    """`bbb-xl schedule`: the schedule of a contracts file. Bad input is refused (BBBError) unless skip_bad: then
    the good contracts' schedule, with the problems. A filter value no line has is an error (strict). A workbook
    with closed months (Closed Periods tab) shows them as the reports do (closed figures, adjustments in the
    as-of month) unless recomputed: what today's inputs give for every period."""
    from .core.periods import normalize_period_kind, schedule_window
    note = progress or (lambda stage, detail: None)
    note("read", str(path))
    book = load_file(path, sheet, events=events, fx=fx, as_of=as_of, decimal_comma=decimal_comma,
                     date_order=date_order)
    if not skip_bad and book.errors:  # how the file was read (info) is for `check`; a refusal lists the problems
        raise BBBError([p for p in book.problems if p.severity != "info"])
    name = str(metric or "").strip().lower()
    if name not in SCHEDULE_METRICS:
        raise BBBError(f"metric '{metric}' is not one of {', '.join(SCHEDULE_METRICS)}")
    try:
        kind = normalize_period_kind(period)
        first, last = schedule_window(start, end, book.calendar)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    sel = book.select(filter, strict=True)
    note("compute", f"{len(sel):,} contract lines")
    closed = None if recomputed or name not in METRICS else _workbook_closed(path, book)
    if closed is not None:
        rows = closed.schedule(name, first, last, kind, group_by or None, sel).to_rows()
    else:
        rows = SCHEDULE_METRICS[name](book, first, last, kind, group_by or None, sel)
    note("write", f"{len(rows) - 1:,} rows")
    return FileSchedule(rows, tuple(book.problems), tuple(book.parsed.excluded_contracts))


def file_check(path, sheet=None, decimal_comma: bool | None = None, date_order: str | None = None) -> list[list]:
    """`bbb-xl check`: every problem of a contracts file with its cell; how a CSV was read as `info` rows."""
    book = load_file(path, sheet, decimal_comma=decimal_comma, date_order=date_order)
    n = len(book.lines)
    ok = ["OK", f"{n} line{'s' if n != 1 else ''}, no problems"]
    problems = list(book.problems) + negative_arr_problems(book) + _audit_trail_problems(path)
    if not problems:
        return [ok]
    rows = [["Cell", "Value", "Severity", "Problem"]] + [
        [p.location, _cell_text(p.value), p.severity, p.message] for p in problems]
    if all(p.severity == "info" for p in problems):
        rows.append([ok[0], "", "", ok[1]])
    return rows


def _audit_trail_problems(path) -> list[Problem]:
    """A workbook's broken audit trail (an edited, deleted or moved entry), as errors located on its row."""
    if str(path).lower().endswith((".xlsx", ".xlsm")):
        from .excel.audit_trail import trail_problems
        return trail_problems(path)
    return []


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


# --- the workbooks the CLI makes ------------------------------------------------------------------------------------

DEMO_NAME = "bbb_demo.xlsm"
TEMPLATE_NAME = "bbb_template.xlsm"


def make_demo(path=DEMO_NAME, force: bool = False):
    """`bbb-xl demo`: the demo workbook at path: a .xlsm (with the Refresh button's macro) or a macro-free .xlsx
    (refreshed by the bbb_xl ribbon tab or `bbb-xl refresh`, and opened anywhere without a macro warning). An
    existing file is replaced only when it is an earlier demo (its Contracts still hold the sample's contracts) or
    with force."""
    from pathlib import Path
    from .excel.template import build_demo
    path = Path(path)
    _check_macro_target(path, "demo")
    if path.exists() and not force and not _is_demo(path):
        raise BBBError(f"{path} exists and is not an earlier bbb_xl demo: choose another name, or add --force to "
                       f"replace it")
    return build_demo(path)


def make_template(path=None, in_repo: bool = False):
    """`bbb-xl template`: the template workbook at path (default ./bbb_template.xlsm); in_repo: rebuild the
    source checkout's workbook_templates/ (bbb_template.xlsm and the ribbon add-in bbb_xl.xlam)."""
    from pathlib import Path
    from .excel.template import TEMPLATE_PATH, build_template
    if in_repo:
        if path is not None:
            raise BBBError("give a PATH or --in-repo, not both")
        if not TEMPLATE_PATH.parent.is_dir():
            raise BBBError(f"--in-repo rebuilds {TEMPLATE_PATH} of a source checkout, and this installation has "
                           f"none: give a PATH instead")
        from .excel.addin import ADDIN_NAME, build_addin
        build_addin(TEMPLATE_PATH.with_name(ADDIN_NAME))
        path = TEMPLATE_PATH
    path = Path(path if path is not None else TEMPLATE_NAME)
    _check_macro_target(path, "template")
    return build_template(path)


def _check_macro_target(path, what: str) -> None:
    if path.suffix.lower() not in (".xlsm", ".xlsx"):
        raise BBBError(f"{path.name}: the {what} workbook is a .xlsm (with the Refresh button's macro; Excel refuses "
                       f"a macro workbook under any other name) or a macro-free .xlsx: use a name ending in one of "
                       f"them, e.g. {path.with_suffix('.xlsm').name}")
    if not path.parent.is_dir():
        raise BBBError(f"{path}: the folder {path.parent} does not exist")


def _is_demo(path) -> bool:
    """Whether a file is a demo workbook this command made: its Contract IDs are the sample's, in order."""
    from .sample import sample_contracts
    from .xlsx_reader import read_sheets
    try:
        rows = read_sheets(path, [], optional=["Contracts"]).get("Contracts") or []
    except Exception:  # noqa: BLE001 - not a workbook we can read: not a demo
        return False
    ids = [r[0] for r in rows[1:] if r and r[0] not in (None, "")]
    return ids == [r[0] for r in sample_contracts()[1:]]


def import_file(path, book, profile: str | None = None, mapping=None, *, dry_run: bool = False,
                mode: str = "upsert"):
    """`bbb-xl import`: read a CRM / billing export, map it (a built-in profile, `auto`, a mapping file, or
    else BOOK's Mapping tab) and upsert (or replace) the rows into BOOK's Contracts or Events tab. Any rejected
    source row aborts with nothing written (BBBError naming the source rows); a dry run only says what would change."""
    from .excel.import_rows import import_rows
    from .imports import apply_mapping, read_source, resolve
    rows, header_row = read_source(path)
    chosen, how = resolve(rows[0], profile, mapping, book)
    applied = apply_mapping(rows, chosen, header_row=header_row)
    return import_rows(book, applied, how, mode=mode, dry_run=dry_run)


# --- every number explained (BBB_EXPLAIN, bbb-xl explain) ----------------------------------------------------------

def explain_rows(book: Book, contract, period, line=None, metric=None) -> list[list]:
    """BBB_EXPLAIN's table: [Item, Value] then one row per step (engine.explain), the last "Result" equal to the
    flow formula for the contract (and line) and period. Dates as ISO text, money as Decimal."""
    import datetime as dt

    from .core.periods import flow_window
    from .engine.explain import explain
    if period is None or (isinstance(period, str) and not period.strip()):
        raise BBBError("period is missing: give a month (2025-02), a quarter, a year or a date")
    try:
        first, last = flow_window(period, None, book.calendar)
    except ValueError as exc:
        raise BBBError(f"period: {exc}") from None
    blank = metric is None or (isinstance(metric, str) and not metric.strip())
    rows = explain(book, contract, first, last, line, "revenue" if blank else metric)
    return [["Item", "Value"]] + [[item, value.isoformat() if isinstance(value, dt.date) else value]
                                  for item, value in rows]


def file_explain(path, contract, period, line=None, metric=None, sheet=None, *, events=None, fx=None) -> list[list]:
    """`bbb-xl explain`: explain_rows over a contracts file (its Events and FX Rates tabs read with it); bad input
    is refused with its problems."""
    book = load_file(path, sheet, events=events, fx=fx)
    if book.errors:
        raise BBBError([p for p in book.problems if p.severity != "info"])
    return explain_rows(book, contract, period, line, metric)


def explain_text(rows: list[list]) -> str:
    """explain_rows as two aligned text columns; each number keeps its own decimals (a 6-decimal unrounded amount
    stays 6, a day count has none)."""
    from decimal import Decimal
    shown = [[item, f"{value:,}" if isinstance(value, (Decimal, int)) and not isinstance(value, bool)
              else str(value)] for item, value in rows]
    width = max(len(r[0]) for r in shown)
    return "\n".join(f"{item:<{width}}  {value}" for item, value in shown)


# --- bbb-xl journal: the journal of a workbook as a file an ERP imports ---------------------------------------------

@dataclass(frozen=True)
class JournalExport:
    """`bbb-xl journal`'s answer: the file written, its entries and lines, the debit total (cents) and warnings."""

    path: object
    fmt: str
    entries: int
    lines: int
    debits: int
    problems: tuple  # warnings; with skip_bad also the errors whose contracts were left out
    excluded_contracts: tuple = ()

    @property
    def partial(self) -> bool:
        """Written, but contracts with input errors are left out (skip_bad)."""
        return bool(self.excluded_contracts) or any(p.is_error for p in self.problems)


def export_journal(path, start, end, fmt: str = "csv", detail=None, out=None, *, date_format: str | None = None,
                   tax_rate: str | None = None, subsidiary: str | None = None,
                   skip_bad: bool = False) -> JournalExport:
    """Write the journal of the workbook at `path` for the periods from start to end (2025-01, 2025-Q1, ...) as
    the journal import file of `fmt` (csv, netsuite, quickbooks, xero) at `out`, atomically (a temporary file
    replaced into place). The journal is the Journal Entries tab's: Settings accounts, Period, Currency (the
    reporting currency), "Invoices posted by" and "Journal detail" (detail: period or contract overrides it), the
    Accounts tab's revenue account per Product, the Opening Balances at the Cutover Date, the Price Tiers of usage
    lines, and closed months as closed with each difference since posted as an out-of-period adjustment in the
    as-of period (Closed Periods tab). An input error anywhere refuses the export (BBBError, nothing written): a
    journal to post never leaves contracts out silently; skip_bad writes the journal of the good contracts (as
    the Journal Entries tab does) and says which were left out."""
    from pathlib import Path

    from .core.errors import errors_only
    from .core.periods import schedule_window
    from .engine.close import closed_journal_lines
    from .engine.journal import mapping_problems
    from .excel.close import read_closed_rows
    from .excel.headless import read_tabs
    from .excel.record_tabs import CLOSED_PERIODS
    from .excel.workflow import ACCOUNTS, CONTRACTS, EVENTS, FX, OPENING, SETTINGS, TIERS, inputs_book
    from .files import check_xlsx_archive
    from .reports.journal import journal_settings

    name, out = journal_target(fmt, out, date_format)
    path = Path(path)
    if not path.is_file():
        raise BBBError(f"{path}: no such file")
    if out.resolve() == path.resolve():
        raise BBBError(f"{out} is the workbook itself: write the journal to another file")
    check_xlsx_archive(path)
    tabs = read_tabs(path, also=[OPENING, TIERS, CLOSED_PERIODS])
    settings, settings_problems, book = inputs_book(tabs[CONTRACTS], tabs[SETTINGS], tabs.get(EVENTS), tabs.get(FX),
                                                    tabs.get(OPENING), tabs.get(TIERS))
    settings, accounts, problems, account_problems = journal_settings(settings, settings_problems, tabs.get(ACCOUNTS),
                                                                      detail, ACCOUNTS)
    problems = problems + list(book.problems) + account_problems + mapping_problems(book, accounts)
    if errors_only(problems) and not skip_bad:
        raise BBBError(errors_only(problems) + [Problem(None, None, None, "a journal to post never leaves "
                                                        "contracts out: fix these (bbb-xl refresh lists them on "
                                                        "Exceptions) or add --skip-bad, nothing written")])
    try:
        first, last = schedule_window(start, end, book.calendar)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    if book.cutover is not None and first <= book.cutover.day:
        from .core.dates import iso
        problems.append(Problem(None, None, None, f"the journal starts on or before the Cutover Date "
                                                  f"{iso(book.cutover.day)}: the entry of the period holding it posts "
                                                  f"the Opening Balances (recognized and billed to date) as one lump, "
                                                  f"which the legacy system already posted; import the entries of "
                                                  f"the periods after it (docs/cutover.md)", "warning", OPENING))
    closed = read_closed_rows(tabs.get(CLOSED_PERIODS)).closed
    lines, _ = closed_journal_lines(book, closed, settings.as_of, first, last, settings.period,
                                    settings.journal_detail, settings.invoices_posted_by, accounts, settings.currency)
    # (journal_lines' own problems are mapping_problems: in already)
    notes = write_journal(lines, name, out, start, end, accounts, problems, date_format=date_format,
                          tax_rate=tax_rate, subsidiary=subsidiary)
    return JournalExport(out, name, len({x.entry for x in lines}), len(lines), sum(x.debit for x in lines),
                         tuple(notes), tuple(book.parsed.excluded_contracts))


def journal_target(fmt, out, date_format) -> tuple:
    """(format name, output Path) of a journal export, after checking them (BBBError)."""
    from pathlib import Path

    from .exports import FORMATS
    name = str(fmt or "").strip().lower()
    if name not in FORMATS:
        raise BBBError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    if out is None or not str(out).strip():
        raise BBBError("give the file to write (--out FILE)")
    if date_format and not (("%d" in date_format) and any(c in date_format for c in ("%m", "%b", "%B"))
                            and any(c in date_format for c in ("%Y", "%y"))):
        raise BBBError(f"--date-format '{date_format}' must give the day (%d), the month (%m, %b or %B) and the "
                       f"year (%Y or %y), e.g. %d/%m/%Y")
    out = Path(out)
    if not out.parent.is_dir():
        raise BBBError(f"{out}: the folder {out.parent} does not exist")
    return name, out


def write_journal(lines, name: str, out, start, end, accounts, problems, *, date_format=None, tax_rate=None,
                  subsidiary=None) -> list:
    """Write journal lines as the import file of format `name` at `out`, atomically -> the notes to show: the
    problems' warnings and what the vendor will refuse or split."""
    from .excel.headless import _write_text_atomic
    from .exports import FORMATS, ExportOptions
    from .files import csv_text
    options = ExportOptions(date_format=date_format or None, tax_rate=tax_rate or "Tax Exempt",
                            subsidiary=subsidiary or "")
    rows = FORMATS[name](lines, options)
    if out.exists():  # a read-only or open file is refused before anything is written
        from .excel import package as pk
        pk.check_can_replace(out)
    _write_text_atomic(out, csv_text(rows))
    notes = [p for p in problems if p.severity != "info"]
    if not lines:
        notes.append(Problem(None, None, None, f"no journal line from {start} to {end}: the file holds the header "
                                               f"only", "warning"))
    from .exports.xero import MAX_LINES
    if name == "quickbooks" and any(x.account_code == accounts.receivable.code and x.account_name ==
                                    accounts.receivable.name and not x.customer for x in lines):
        notes.append(Problem(None, None, None, "QuickBooks Online asks for a customer in Name on every line to an "
                                               "Accounts Receivable account, and entries by period have none: use "
                                               "--detail contract, or post AR to an account of another type",
                             "warning"))
    if name == "xero" and len(lines) > MAX_LINES:
        notes.append(Problem(None, None, None, f"{len(lines)} lines: Xero imports at most {MAX_LINES} lines per "
                                               f"file; export fewer periods per file", "warning"))
    return notes


# --- closed months (engine.close; the Closed Periods record tab: excel.close) ---------------------------------------

def closed_figures(book: Book, closed=None, today=None):
    """book itself when `closed` (a Closed Periods range) is omitted or blank, else its closed view
    (engine.close.ClosedFigures): closed months as closed, differences posted in the month of `today` (default:
    today's UTC date; never before the first open month)."""
    if _no_events(closed):
        return book
    import datetime as dt

    from .core.dates import day_number
    from .engine.close import ClosedFigures
    from .excel.close import read_closed_rows
    if not isinstance(closed, (list, tuple)):
        raise BBBError("closed must be the Closed Periods range, e.g. 'Closed Periods'!A1:O100000")
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in closed]
    day = day_number(today or dt.datetime.now(dt.timezone.utc).date())
    try:
        key = (id(book), _freeze(rows), day)
    except TypeError:
        key = None
    with _lock:
        for k, (c_key, c_book, figures) in enumerate(_closed_cache):
            if key is not None and c_key == key and c_book is book:  # one parse per range, book and day
                return figures
    tab = read_closed_rows(rows)
    if tab.closed.through is None:
        raise BBBError("closed: the range holds no 'Closed through' month: pass the Closed Periods tab from A1, "
                       "e.g. 'Closed Periods'!A1:O100000")
    figures = ClosedFigures(book, tab.closed, day)
    if key is not None:
        with _lock:
            _closed_cache.append((key, book, figures))
            del _closed_cache[:-CACHE_SIZE]
    return figures


_closed_cache: list = []


def close_book(path, through, *, user=None):
    """`bbb-xl close`: excel.close.close_file."""
    from .excel.close import close_file
    return close_file(path, through, user=user)


def reopen_book(path, from_month, reason, *, user=None):
    """`bbb-xl reopen`: excel.close.reopen_file."""
    from .excel.close import reopen_file
    return reopen_file(path, from_month, reason, user=user)


def _workbook_closed(path, book: Book):
    """The closed view of a workbook's book (ClosedFigures at its Settings as-of date), or None when nothing is
    closed or the file is not a workbook."""
    if not str(path).lower().endswith((".xlsx", ".xlsm")):
        return None
    from .engine.close import ClosedFigures
    from .excel.close import read_closed_rows
    from .excel.record_tabs import CLOSED_PERIODS
    from .settings import parse_settings
    from .xlsx_reader import read_sheets
    tabs = read_sheets(path, [], optional=[CLOSED_PERIODS, "Settings"])
    tab = read_closed_rows(tabs.get(CLOSED_PERIODS))
    if tab.closed.through is None:
        return None
    settings, problems = parse_settings(tabs.get("Settings"), sheet="Settings")
    if settings is None:
        raise BBBError(list(problems))
    return ClosedFigures(book, tab.closed, settings.as_of)


# --- actual vs plan (issue 16 §3; docs/plan.md) --------------------------------------------------------------------
def variance_rows(book: Book, metric, start, end_period, plan, period=None, version=None, filter=None) -> list[list]:
    """BBB_VARIANCE's table: a header row ([metric name, period labels...]) then Actual, Plan, Variance (actual −
    plan) and Variance % (variance ÷ plan; None where there is no plan or the plan is 0). plan: a plan range with
    its header row (engine.plan), or a parsed Plan; version: required when it holds more than one. Without an
    as-of date every period's Actual is the book's own schedule (the formula does not know today's date)."""
    from .core.dates import MAX_DAY
    from .core.money import cents_to_decimal
    from .core.periods import normalize_period_kind, period_grid, schedule_window
    from .engine.plan import PLAN_METRICS, Plan, actual_vs_plan, plan_from_range, plan_slice
    name = str(metric or "").strip().lower()
    if name not in PLAN_METRICS:
        raise BBBError(f"metric '{metric}' is not one of {', '.join(PLAN_METRICS)}")
    try:
        kind = normalize_period_kind(period)
        first, last = schedule_window(start, end_period, book.calendar)
        periods = period_grid(first, last, kind, book.calendar)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    parsed = plan if isinstance(plan, Plan) else plan_from_range(plan, sheet="plan range", origin=None)
    chosen = parsed.version(version)
    dimension, value = plan_slice(filter)
    rows = actual_vs_plan(book, parsed, chosen, name, periods, MAX_DAY, book.select(filter), dimension, value)

    def money(c):
        return None if c is None else cents_to_decimal(c)
    return [[_METRIC_TITLES[name]] + [r.period.label for r in rows],
            ["Actual"] + [money(r.actual) for r in rows],
            ["Plan"] + [money(r.plan) for r in rows],
            ["Variance"] + [money(r.variance) for r in rows],
            ["Variance %"] + [r.percent for r in rows]]


_METRIC_TITLES = {"revenue": "Revenue", "billings": "Billings", "bookings": "Bookings", "arr": "ARR",
                  "backlog": "Backlog", "deferred": "Deferred revenue"}
