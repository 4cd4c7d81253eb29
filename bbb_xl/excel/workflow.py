"""One report builder, two shells: inputs (rows of the input tabs) -> Reports, shared by the Excel button and
the headless refresh, so both produce identical report content."""
from __future__ import annotations

import datetime as dt
import math
from itertools import repeat
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from ..core.errors import EXCEL_ERROR_CODES, column_letter, errors_only, excel_error
from ..core.periods import CALENDAR
from ..engine.book import Book
from ..engine.events import _EVENT_KINDS, TREATMENTS
from ..engine.journal import mapping_problems
from ..engine.table import (BILLING, RECOGNITION, TIMING, _RECOGNITION_ALIASES, booking_after_as_of, normalize_header,
                            parse_contracts)
from ..reports import REPORT_SHEETS, ChartData, Reports, SheetReport, build_reports, \
    status_text
from ..reports.journal import journal_accounts
from ..reports.run_info import add_layout_rows
from ..settings import parse_settings, read_parse_options

# The input tabs: Contracts and Settings required; Events, FX Rates and the optional ones (Accounts; Pipeline and
# Forecast Assumptions, docs/forecast.md; Plan for Actual vs Plan; Opening Balances, docs/cutover.md; Price Tiers,
# engine.usage) may be absent.
# INPUT_SHEETS is the one list the audit trail, Run Info's input fingerprint and the STALE check cover.
from ..engine.audit import (ACCOUNTS, ASSUMPTIONS, CONTRACTS, EVENTS, FX, OPENING, PIPELINE, PLAN,
                            SETTINGS, TIERS)
from ..engine.audit import INPUT_TABS as INPUT_SHEETS
START = "Start here"
GENERATED_SHEETS = [START] + REPORT_SHEETS

START_TEXT = [
    "bbb_xl turns the contracts on the Contracts tab into bookings, billings, revenue (ASC 606), backlog (RPO), "
    "deferred revenue and journal entries.",
    "",
    "How to use it",
    "1. Paste one row per contract line into the Contracts table (hover a header for what it means); actual "
    "invoices, milestone progress, cancellations and modifications go into the Events table; exchange rates "
    "(Currency, Month, Rate) into FX Rates when a Currency column names other currencies.",
    "2. Check the Settings tab: as-of date, report periods, fiscal year, GL account names.",
    "3. Press Refresh reports: the button on this tab (the .xlsm, with the xlwings add-in) or the bbb_xl ribbon tab "
    "(any copy, a macro-free .xlsx too); or run:  bbb-xl refresh <this file>",
    "4. Read Exceptions first: contracts with an input error are left out of every report, whole.",
    "The demo's sample book (bbb-xl demo) holds one deliberately bad contract, C-9999 (End Date before Start "
    "Date), so its first view is an Exceptions banner: that is how a problem looks.",
    "5. To start on your own data, press Clear sample data (or run:  bbb-xl clear-sample <this file>): it empties "
    "Contracts, Events and FX Rates (headers, validation and formats kept) while they still hold the sample.",
    "",
    "Report tabs (values, readable without Python)",
    "Summary \u2014 the as-of period, quarter and year to date; balances at the as-of date; charts.",
    "Revenue \u2014 the revenue waterfall: each contract line by period; Before + periods + After = Amount.",
    "Billings \u2014 the same for invoices.",
    "Bookings \u2014 bookings by period for each dimension (Product, Region, ...).",
    "By Dimension \u2014 revenue and billings by period by Customer (top 25) and each dimension; each section sums "
    "to its tab's total.",
    "Backlog \u2014 remaining performance obligations: opening + bookings \u2212 revenue = closing; RPO split.",
    "Deferred Revenue \u2014 rollforward of the contract liability, unbilled receivable beside it, ASC "
    "606-10-50-8 revenue from opening deferred.",
    "Allocation \u2014 each bundled contract's price allocated to its lines by relative standalone selling price.",
    "Changes \u2014 every cancellation and modification with its effect on bookings, revenue and backlog.",
    "Journal Entries \u2014 balanced entries per period, ready to post: your GL accounts from Settings (and the "
    "Accounts tab: a revenue account per Product), posting dates, entry numbers (also a CSV).",
    "Exceptions \u2014 every input problem with its cell.",
    "Run Info \u2014 version, time of refresh, input fingerprint, and STALE when an input tab changed since.",
    "Forecast \u2014 revenue, billings, bookings and ARR after the as-of date: contracted, renewals (Forecast "
    "Assumptions tab) and pipeline (Pipeline tab, Amount x Probability), for the Settings forecast horizon.",
    "Actual vs Plan \u2014 each metric against the Plan tab's budget (Settings: Plan version): variance, variance %, "
    "year to date, a chart; periods after the as-of date show the contracted forecast. The Backlog tab also shows "
    "the delivery load: the backlog by the month its revenue is scheduled.",
    "Metrics \u2014 SaaS metrics by period: the ARR bridge and its chart, ARR, MRR and customers, NRR, GRR, logo "
    "churn, backlog coverage, the top 20 customers by ARR, ARR by signup cohort.",
    "Audit Trail \u2014 each refresh, import, close and reopen with the input changes it found, field by field "
    "(a record tab: appended, never rewritten; hash-chained, so bbb-xl check sees an edited entry).",
    "",
    "This tab, Summary and the other report tabs are rewritten by every refresh; the refresh never changes a row "
    "of Contracts, Events, FX Rates, Settings, Accounts, Plan or any tab you add (a workbook from an older template gets "
    "the missing tabs and Settings rows added first). Only Clear sample data (bbb-xl clear-sample) removes input "
    "rows. Record tabs (Closed Periods) are never rewritten by a refresh: only bbb-xl close and reopen write them.",
]


def start_here(status: str, errors: int) -> SheetReport:
    s = SheetReport(START)
    s.add(1, 1, [["bbb_xl \u2014 bookings, billings, backlog and deferred revenue"]], "title")
    s.add(2, 1, [["Status", status]], ["subtitle", "status_ok" if not errors else "status_bad"])
    s.add(4, 1, [[line] for line in START_TEXT], "text")
    for i, line in enumerate(START_TEXT):
        if line in ("How to use it", "Report tabs (values, readable without Python)"):
            s.blocks.append(type(s.blocks[0])(4 + i, 1, [[line]], "subtitle"))
    return s


def inputs_book(contract_rows, settings_rows, event_rows=None, fx_rows=None, opening_rows=None, tiers_rows=None):
    """(settings or None, settings problems, book) of the input tabs, problems located at their cells;
    opening_rows: the Opening Balances tab, read with the Settings Cutover Date (engine.cutover); tiers_rows: the
    Price Tiers tab (engine.usage)."""
    settings, settings_problems = parse_settings(settings_rows, sheet=SETTINGS)
    # Decimal separator, Date order, Time zone: read even when another setting is wrong (its problems are there)
    options = settings.parse_options if settings else read_parse_options(settings_rows, SETTINGS)[0]
    parsed = parse_contracts(contract_rows, sheet=CONTRACTS, origin=(1, 1), options=options)
    book = Book(parsed, settings.calendar if settings else CALENDAR, events=event_rows or None,
                events_sheet=EVENTS, events_origin=(1, 1), fx=fx_rows or None,
                reporting_currency=settings.currency if settings else None, fx_sheet=FX, fx_origin=(1, 1),
                as_of=settings.as_of if settings else None,  # evergreen lines renew up to the as-of term
                opening=opening_rows if _has_rows(opening_rows) else None,
                cutover=settings.cutover if settings else None, opening_sheet=OPENING, opening_origin=(1, 1),
                fx_method=settings.fx_method if settings else None,
                tiers=tiers_rows if _has_rows(tiers_rows) else None, tiers_sheet=TIERS, tiers_origin=(1, 1))
    return settings, settings_problems, book


def input_fingerprint(inputs: dict) -> str:
    """Run Info's input fingerprint: sha256 of the cells of every input tab ({tab: rows or None}, INPUT_SHEETS)."""
    from ..reports.run_info import input_fingerprint as of_inputs
    return of_inputs(inputs)


def input_tabs(contract_rows, settings_rows, event_rows=None, fx_rows=None, accounts_rows=None, plan_rows=None,
               pipeline_rows=None, assumptions_rows=None, opening_rows=None, tiers_rows=None) -> dict:
    """{tab: rows or None (absent)} of every input tab, in INPUT_SHEETS order."""
    given = {CONTRACTS: contract_rows, EVENTS: event_rows, FX: fx_rows, SETTINGS: settings_rows,
             ACCOUNTS: accounts_rows, PLAN: plan_rows, PIPELINE: pipeline_rows, ASSUMPTIONS: assumptions_rows,
             OPENING: opening_rows, TIERS: tiers_rows}
    return {tab: given[tab] for tab in INPUT_SHEETS}


def compute_reports(contract_rows, settings_rows, event_rows=None, *,
                    refreshed_at: dt.datetime | None = None, fx_rows=None, accounts_rows=None,
                    template_version: int | None = None, previous_version: str | None = None,
                    pipeline_rows=None, assumptions_rows=None, closed=None, plan_rows=None,
                    opening_rows=None, tiers_rows=None) -> Reports:
    """Parse the input tabs (problems located at their cells) and build every report tab. fx_rows: the FX Rates
    tab (Currency, Month, Rate), converting to the Settings Currency (the reporting currency); accounts_rows: the
    Accounts tab (Product, Revenue Account) for the journal; pipeline_rows / assumptions_rows: the Pipeline and
    Forecast Assumptions tabs for the Forecast tab (None when absent); closed: the Closed Periods record
    (engine.close.ClosedBook): closed months reported as closed, differences as out-of-period adjustments;
    plan_rows: the Plan tab for Actual vs Plan (None when absent); opening_rows: the Opening Balances tab,
    read with the Settings Cutover Date (engine.cutover; None when absent); tiers_rows: the Price Tiers tab
    (engine.usage; None when absent)."""
    settings, settings_problems, book = inputs_book(contract_rows, settings_rows, event_rows, fx_rows,
                                                    opening_rows, tiers_rows)
    options = settings.parse_options if settings else read_parse_options(settings_rows, SETTINGS)[0]
    if settings is None:
        reports = _not_refreshed(book, settings_problems)
    else:
        # where an as-of date exists: lines booked more than a year after it (warnings)
        late = booking_after_as_of(book.parsed, settings.as_of)
        accounts, accounts_problems = journal_accounts(settings, accounts_rows, ACCOUNTS)
        accounts_problems += mapping_problems(book, accounts)
        forecast_inputs, forecast_problems = read_forecast_inputs(pipeline_rows, assumptions_rows, options, book)
        from ..engine.plan import parse_plan
        plan, plan_problems = parse_plan(plan_rows, PLAN, (1, 1), options) if plan_rows else (None, [])
        from ..reports.run_info import fingerprint_rows
        inputs = input_tabs(contract_rows, settings_rows, event_rows, fx_rows, accounts_rows, plan_rows,
                            pipeline_rows, assumptions_rows, opening_rows, tiers_rows)
        reports = build_reports(book, settings, input_problems=list(settings_problems) + late + accounts_problems
                                + forecast_problems + plan_problems,
                                contract_rows=contract_rows, refreshed_at=refreshed_at, event_rows=event_rows,
                                fx_rows=fx_rows, accounts=accounts, forecast_inputs=forecast_inputs,
                                closed=closed, plan=plan, plan_problems=plan_problems,
                                input_rows=fingerprint_rows(inputs))
    reports.sheets[START] = start_here(reports.status, len(errors_only(reports.problems)))
    if settings is not None and template_version is not None:  # the workbook's layout and engine history
        add_layout_rows(reports.sheets["Run Info"], template_version, previous_version)
    return reports


def read_forecast_inputs(pipeline_rows, assumptions_rows, options=None, book=None) -> tuple:
    """((assumptions, pipeline, notes), problems): the Pipeline and Forecast Assumptions tabs parsed, problems
    located on their cells; a tab in error is left out of the Forecast tab and a note says so. book: the
    assumptions' dimension column must be one of its columns."""
    from ..core.errors import BBBError, Problem
    from ..engine.forecast import parse_assumptions, parse_pipeline
    problems, notes = [], []
    assumptions = pipeline = None
    if _has_rows(assumptions_rows):
        try:
            assumptions = parse_assumptions(assumptions_rows, ASSUMPTIONS, (1, 1))
        except BBBError as exc:
            problems += list(exc.problems)
            notes.append(f"{ASSUMPTIONS} has errors (see Exceptions): no renewals assumed")
        if assumptions is not None and assumptions.dimension and assumptions.rates and book is not None:
            try:
                book.column_text(assumptions.dimension)
            except BBBError as exc:
                problems.append(Problem(1, assumptions.dimension, assumptions.dimension,
                                        f"the rates vary by '{assumptions.dimension}': "
                                        f"{exc.problems[0].message.replace('filter or group by', 'match')}",
                                        sheet=ASSUMPTIONS, cell="A1", table="assumptions"))
                notes.append(f"{ASSUMPTIONS} has errors (see Exceptions): no renewals assumed")
                assumptions = None
    if _has_rows(pipeline_rows):
        try:
            pipeline = parse_pipeline(pipeline_rows, PIPELINE, (1, 1), options)
        except BBBError as exc:
            problems += list(exc.problems)
            notes.append(f"{PIPELINE} has errors (see Exceptions): left out of the forecast")
    return (assumptions, pipeline, tuple(notes)), problems


def _has_rows(rows) -> bool:
    """Data below the header row (a tab with its header only is as good as absent)."""
    return bool(rows) and any(v not in (None, "") for row in rows[1:] for v in row)


def last_refresh_version(run_info_rows) -> str | None:
    """The bbb_xl version that last refreshed a workbook (Run Info's "bbb_xl version" row), or None."""
    for row in run_info_rows or []:
        if row and len(row) > 1 and str(row[0] or "").strip() == "bbb_xl version" and row[1]:
            return str(row[1])
    return None


def _not_refreshed(book, settings_problems) -> Reports:
    """Settings unusable: no figure is computed; the status, Exceptions and a note on every report tab."""
    problems = tuple(book.problems) + tuple(settings_problems)
    status = status_text(problems)
    sheets = {}
    for name in REPORT_SHEETS:
        s = SheetReport(name)
        s.banner(1, f"{name}: not refreshed \u2014 fix the Settings problems listed in Exceptions")
        sheets[name] = s
    sheets["Summary"].add(2, 1, [["Status", status]], ["subtitle", "status_bad"])
    ex = sheets["Exceptions"]
    ex.add(4, 1, [["Cell", "Column", "Value", "Severity", "Problem"]], "header")
    ex.add(5, 1, [[p.location, p.column or "", "" if p.value is None else str(p.value), p.severity, p.message]
                  for p in problems], "text")
    return Reports(sheets, [], ChartData(40, 2, 0, {}), status, 0, problems)


# --- STALE: checksums of the input tabs, computed here at refresh and live by native formulas ---------------------
# Each column of an input tab gets one integer checksum, a sum of exact integer terms (float noise cannot flip it),
# each weighted by its row (1..7):
#   numbers and date serials: ROUND(value x 10^d), d = the column's decimals (<= 6); text: its LEN;
#   choice columns (Recognition, Billing, Billing Timing, Event, Treatment): the position of the normalized text in
#   the fixed list of accepted spellings (MATCH);
#   Currency, FX Month and the Settings values: every one of their first characters (UNICODE x position).
# A hidden Run Info cell per column compares its checksum with the value at refresh; the status cell sums them.
# The formulas hold only these computed integers and the fixed spelling lists: no input text ever enters them.
STALE_MARGIN = 1000  # rows below the last row read that the checksums still cover (rows appended later)
_ROW_W = 7  # weights 1..7 by row: a value moved to another row changes the sum
_MAX_DECIMALS = 6
_LIMIT = 10 ** 14  # every checksum stays an exact double and a 15-digit formula literal
_CHOICES = {
    CONTRACTS: {"recognition": (*RECOGNITION, *_RECOGNITION_ALIASES), "billing": tuple(BILLING),
                "billingtiming": tuple(TIMING)},
    EVENTS: {"event": tuple(_EVENT_KINDS), "treatment": tuple(TREATMENTS)},
    PLAN: {"metric": ("revenue", "billings", "bookings", "arr", "backlog", "deferred")},
    PIPELINE: {"recognition": (*RECOGNITION, *_RECOGNITION_ALIASES), "billing": tuple(BILLING)},
}
# text whose characters decide a figure (a code, a GL account, a name matched to contracts): every one counts
_CODE_TEXT = {CONTRACTS: {"currency": 3}, EVENTS: {}, FX: {"currency": 3, "month": 10}, SETTINGS: {"value": 40},
              PLAN: {"version": 24, "month": 10}, ACCOUNTS: {"product": 24, "revenueaccount": 24, "account": 24},
              PIPELINE: {"currency": 3, "type": 12}, OPENING: {"contractid": 16, "lineid": 8}}
_EPOCH = dt.datetime(1899, 12, 30)


def _number(value):
    """The number Excel holds in a cell (dates as serials), or None for text, booleans, blanks and errors."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)  # Excel's dates have no time zone (pywin32 hands them over with one)
        leap_bug = 1 if value < dt.datetime(1900, 3, 1) else 0  # Excel's 1900-02-29 shifts the first two months
        return (value - _EPOCH).total_seconds() / 86400 - leap_bug
    if isinstance(value, dt.date):
        return _number(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, (int, float, np.integer, np.floating)) and not (type(value) is int
                                                                       and value in EXCEL_ERROR_CODES):
        return float(value) if math.isfinite(value) else None
    return None


def _scaled(number: float, d: int) -> int:
    """ROUND(number * 10^d, 0): half away from zero, on the decimal the user typed (repr)."""
    q = (Decimal(repr(number)) * (10 ** d)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(q)


def _normalized_choice(text: str) -> str:
    """SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER(cell)," ",""),"-",""),"_","")"""
    return text.lower().replace(" ", "").replace("-", "").replace("_", "")


def _utf16(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


def _sheet_ref(sheet: str) -> str:
    return sheet if sheet.isalnum() else "'" + sheet.replace("'", "''") + "'"


def _column_cells(values):
    """One column's numeric cells (row indexes, numbers; dates as serials) and text cells (row indexes, LEN).
    A column of one kind (numbers, text or dates, with blanks; under a text header) in one numpy pass; a mixed one
    cell by cell."""
    if len(values) > 1 and type(values[0]) is str:  # the header over a column of numbers or dates
        tail = _one_kind_cells(values[1:])
        if tail is not None:
            head = _column_cells_per_cell(values[:1])
            return tuple(np.concatenate([h, t + 1 if k % 2 == 0 else t])
                         for k, (h, t) in enumerate(zip(head, tail)))
    cells = _one_kind_cells(values)
    return cells if cells is not None else _column_cells_per_cell(values)


_NUMBER_KINDS, _TEXT_KINDS, _DATE_KINDS = {float, int, type(None)}, {str, type(None)}, {dt.datetime, type(None)}


def _one_kind_cells(values):
    """_column_cells of a column of numbers, text or dates (with blanks) in one numpy pass; None for another."""
    kinds = set(map(type, values))
    none = np.zeros(0, dtype=np.int64)
    if kinds <= _NUMBER_KINDS and (int not in kinds or EXCEL_ERROR_CODES.keys().isdisjoint(values)):
        nums = np.array(values, dtype=np.float64)  # blanks (None) become NaN, left out with inf as not finite
        idx = np.flatnonzero(np.isfinite(nums)).astype(np.int64)
        return idx, nums[idx], none, none.copy()
    if kinds <= _TEXT_KINDS:
        distinct = set(values)
        distinct.discard(None)
        memo = {v: len(v) for v in distinct}  # LEN of plain ASCII text; errors (#N/A...) and the rest below
        for v in [v for v in distinct if "#" in v or not v.isascii()]:
            memo[v] = -1 if excel_error(v) else _text_length(v)
        memo[None] = -1
        got = np.fromiter(map(memo.__getitem__, values), dtype=np.int64, count=len(values))
        at = np.flatnonzero(got >= 0).astype(np.int64)
        return none, np.zeros(0, dtype=np.float64), at, got[at]
    if kinds <= _DATE_KINDS:
        memo = {v: _number(v) for v in set(values) if v is not None}
        memo[None] = math.nan
        got = np.fromiter(map(memo.__getitem__, values), dtype=np.float64, count=len(values))
        at = np.flatnonzero(~np.isnan(got)).astype(np.int64)
        return at, got[at], none, none.copy()
    return None


def _column_cells_per_cell(values):
    """_column_cells one cell at a time (a column of mixed kinds)."""
    idx, nums, tidx, tlen = [], [], [], []
    lengths: dict = {}
    serials: dict = {}
    for i, v in enumerate(values):
        t = type(v)
        if t is float:
            if math.isfinite(v):
                idx.append(i)
                nums.append(v)
        elif t is str:
            n = lengths.get(v)
            if n is None:
                n = lengths[v] = -1 if excel_error(v) else _text_length(v)
            if n >= 0:
                tidx.append(i)
                tlen.append(n)
        elif t is dt.datetime:
            n = serials.get(v)
            if n is None:
                n = serials[v] = _number(v)
            idx.append(i)
            nums.append(n)
        elif v is None or t is bool or (t is int and v in EXCEL_ERROR_CODES):
            continue
        else:
            n = _number(v)
            if n is not None:
                idx.append(i)
                nums.append(n)
    return (np.asarray(idx, dtype=np.int64), np.asarray(nums, dtype=np.float64), np.asarray(tidx, dtype=np.int64),
            np.asarray(tlen, dtype=np.int64))


def _distinct_texts(values) -> set:
    """The distinct text cells of a column that are no Excel error (#N/A...)."""
    texts = {v for v in values if type(v) is str}
    return {v for v in texts if "#" not in v or excel_error(v) is None}


def _weighted(row_w: np.ndarray, values, memo: dict) -> int:
    """sum of row weight x memo[text] over a column's cells whose text memo holds (every other cell: 0). Text never
    equals a number, a date or a blank, so memo's text keys match only text cells."""
    if any(k is not str and issubclass(k, str) for k in set(map(type, values))):  # a str subclass is no text cell
        cells = (memo.get(v, 0) if type(v) is str else 0 for v in values)
    else:
        cells = map(memo.get, values, repeat(0, len(values)))
    got = np.fromiter(cells, dtype=np.int64, count=len(values))
    return int((row_w[:len(values)] * got).sum())


def _decimals_of(nums: np.ndarray) -> int:
    """The fewest decimals (<= 6) that write every number exactly (as typed: within float noise)."""
    for d in range(_MAX_DECIMALS + 1):
        scaled = nums * 10.0 ** d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-7 * np.maximum(1.0, np.abs(scaled)) + 1e-9):
            return d
    return _MAX_DECIMALS


def _round_scaled(nums: np.ndarray, d: int) -> np.ndarray:
    """ROUND(number * 10^d, 0) per cell: half away from zero; cells within float noise of a half are decided on
    the decimal the user typed (repr), as the spreadsheets do."""
    scaled = nums * 10.0 ** d
    out = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    frac = np.abs(scaled) - np.floor(np.abs(scaled))
    for k in np.flatnonzero(np.abs(frac - 0.5) < 1e-6):
        out[k] = _scaled(float(nums[k]), d)
    return out.astype(np.int64)


def _text_length(text: str) -> int:
    """LEN: UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def _column_checksums(sheet: str, rows) -> list[tuple[str, int]]:
    """(formula, value at refresh) of each column's checksum of one input tab: one cell per column, so an edit
    recalculates only its own column's checksum (LibreOffice evaluates these arrays slowly)."""
    rows = rows or []
    ncols = max((len(r) for r in rows), default=0)
    if ncols == 0:
        rows, ncols = [[None]], 1
    n = len(rows)
    last = n + STALE_MARGIN
    q = _sheet_ref(sheet)
    row_w = np.arange(1, n + 1, dtype=np.int64) % _ROW_W + 1
    header = [normalize_header(str(h)) if h is not None else "" for h in rows[0]]
    choices = {header.index(k): v for k, v in _CHOICES.get(sheet, {}).items() if k in header}
    codes = {header.index(k): v for k, v in _CODE_TEXT.get(sheet, {}).items() if k in header}
    if any(len(r) != ncols for r in rows):
        rows = [list(r) + [None] * (ncols - len(r)) for r in rows]
    out = []
    for j, values in enumerate(zip(*rows)):  # each column once, as a tuple
        idx, nums, tidx, tlen = _column_cells(values)
        rng = f"{q}!${column_letter(j + 1)}$1:${column_letter(j + 1)}${last}"
        w = f"(MOD(ROW({rng}),{_ROW_W})+1)"
        # numbers and dates to the column's decimals (lowered while the sum could leave exact integers); text: LEN
        d = _decimals_of(nums) if nums.size else 0
        while d and float(np.abs(nums).sum()) * _ROW_W * 10 ** d > _LIMIT:
            d -= 1
        total = int((row_w[idx] * _round_scaled(nums, d)).sum()) if nums.size else 0
        total += int((row_w[tidx] * tlen).sum())
        terms = [f"SUMPRODUCT({w}*IF(ISNUMBER({rng}),ROUND({rng}*{10 ** d},0),IF(ISTEXT({rng}),LEN({rng}),0)))"]
        texts = _distinct_texts(values) if j in choices or j in codes else set()
        if j in choices:  # the position of the spelling among the accepted ones (0: none of them)
            spellings = choices[j]
            position = {s: k for k, s in enumerate(spellings, start=1)}
            total += _weighted(row_w, values, {t: position.get(_normalized_choice(t), 0) for t in texts})
            listed = "{" + ",".join(f'"{s}"' for s in spellings) + "}"
            terms.append(f'SUMPRODUCT({w}*IFERROR(MATCH(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER({rng})," ",""),'
                         f'"-",""),"_",""),{listed},0),0))')
        if j in codes:  # short codes and settings: every character counts (Period, Report start, Currency)
            width = codes[j]
            total += _weighted(row_w, values, {t: sum(k * u for k, u in enumerate(_utf16(t)[:width], start=1))
                                               for t in texts})
            pos = "{" + ",".join(str(k) for k in range(1, width + 1)) + "}"
            terms.append(f"SUMPRODUCT({w}*IF(ISTEXT({rng}),IFERROR(UNICODE(MID({rng},{pos},1)),0)*{pos},0))")
        out.append(("+".join(terms), total))
    return out


@dataclass
class StaleCheck:
    """Run Info's STALE check: one hidden checksum cell per input column (array formulas, empty text while the
    column is as refreshed, "changed" once it changed: text, so a hidden cell never prints as ###) and the status
    formula over them."""

    checks: list  # formulas of the checksum cells, top to bottom from row 1 of CHECK_COLUMN
    status: str  # formula of the status cell


STALE_CHECK_COLUMN = 3  # Run Info column C, hidden


def stale_check(inputs, settings_rows=None, event_rows=None, fx_rows=None, plan_rows=None) \
        -> StaleCheck | None:
    """The STALE check of the input tabs as read at refresh: "Up to date" while every column's checksum equals
    its value at refresh, else STALE naming the first changed tab. inputs: {tab: rows or None} of every input tab
    (input_tabs; INPUT_SHEETS order), or the Contracts rows with the other tabs after them."""
    if not isinstance(inputs, dict):
        inputs = input_tabs(inputs, settings_rows, event_rows, fx_rows, plan_rows=plan_rows)
    if not inputs.get(CONTRACTS):
        return None
    tabs = [(tab, inputs.get(tab)) for tab in INPUT_SHEETS]
    checks, spans = [], []
    for sheet, rows in tabs:
        if rows is None:
            continue  # a tab this workbook does not have
        first = len(checks) + 1
        checks += [f'IF({expr}={value},"","changed")' for expr, value in _column_checksums(sheet, rows)]
        spans.append((sheet, first, len(checks)))
    col = column_letter(STALE_CHECK_COLUMN)
    status = '"Up to date"'
    for sheet, first, last in reversed(spans):
        status = (f'IF(COUNTIF(${col}${first}:${col}${last},"changed")>0,"STALE: {sheet} changed since the last '
                  f'refresh",{status})')
    return StaleCheck(checks, status)


# --- the Excel button's extras: what the headless writer puts in the package, through the xlwings object model ------

_FORMULA_START = ("=", "+", "-", "@")


def link_text(value) -> str | None:
    """The text a linked report cell shows (Hyperlink.TextToDisplay replaces the cell's text): the cell's own value
    as text, an apostrophe before text Excel would read as a formula; None for an empty cell (no link)."""
    if value is None or value == "":
        return None
    from ..engine.audit import cell_text
    text = value if isinstance(value, str) else cell_text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_links(sheet, report: SheetReport) -> int:
    """The report's links from line-level rows to their input rows, as the headless refresh writes them: internal
    hyperlinks (Range.add_hyperlink with a '#Sheet'!A5 address: a fixed location inside the workbook, never a
    URL, never a HYPERLINK formula, never input text in the address). Old links are removed first (a line that
    left the report keeps none). Returns the number written."""
    from .package import location
    try:  # Windows COM; another host's clear() already took them with the cells
        sheet.api.Hyperlinks.Delete()
    except Exception:  # noqa: BLE001 - no COM sheet (macOS, a stand-in)
        pass
    n = 0
    for (r, c), (target, cell) in sorted(report.links.items()):
        text = link_text(report.cell(r, c))
        if text is None:
            continue
        address = "#" + location(target, cell)
        sheet.range((r, c)).add_hyperlink(address, text, f"Go to the input row: {location(target, cell)}")
        n += 1
    return n


def point_charts(sheet, sheet_name: str, charts) -> int:
    """Point the series of a tab's charts (Actual vs Plan: one per metric block) at the report's periods, as the
    headless refresh does in the chart XML: each series whose values row is a series row of one of `charts`
    (ChartData) gets that block's columns for its values and header row for its categories; the chart type (a
    combination of columns and a line) is kept. Excel's object model on Windows (Chart.SeriesCollection); returns
    the number of series re-pointed (0 where the host has no such object model: the charts keep their range)."""
    import re
    by_row = {row: data for data in charts if data.periods for row in data.series_rows.values()}
    q = _sheet_ref(sheet_name)
    n = 0
    for ch in sheet.charts:
        try:
            chart = ch.api[1]
            count = chart.SeriesCollection().Count
        except Exception:  # noqa: BLE001 - macOS (AppleScript) or a stand-in without Excel's object model
            continue
        for i in range(1, count + 1):
            series = chart.SeriesCollection(i)
            m = re.search(r"\$(\d+)\s*,\s*\d+\s*\)\s*$", str(series.Formula))  # =SERIES(name,cats,values,order)
            data = by_row.get(int(m.group(1))) if m else None
            if data is None:
                continue
            row = int(m.group(1))
            first, last = column_letter(data.first_col), column_letter(data.first_col + data.periods - 1)
            series.Values = f"={q}!${first}${row}:${last}${row}"
            series.XValues = f"={q}!${first}${data.label_row}:${last}${data.label_row}"
            n += 1
    return n
