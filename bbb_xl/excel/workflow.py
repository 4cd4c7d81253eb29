"""One report builder, two shells: inputs (rows of the input tabs) -> Reports, shared by the Excel button and
the headless refresh, so both produce identical report content."""
from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

from ..core.errors import EXCEL_ERROR_CODES, column_letter, excel_error
from ..core.periods import CALENDAR
from ..engine.book import Book
from ..engine.events import _EVENT_KINDS, TREATMENTS
from ..engine.table import BILLING, RECOGNITION, TIMING, _RECOGNITION_ALIASES, normalize_header, parse_contracts
from ..reports import OPTIONAL_REPORT_SHEETS, REPORT_SHEETS, ChartData, Reports, SheetReport, build_reports, \
    status_text
from ..settings import parse_settings

CONTRACTS, SETTINGS, EVENTS, FX, START = "Contracts", "Settings", "Events", "FX Rates", "Start here"
INPUT_SHEETS = (CONTRACTS, SETTINGS, EVENTS, FX)
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
    "3. Press Refresh reports (Excel with the xlwings add-in), or run:  bbb-xl refresh <this file>",
    "4. Read Exceptions first: contracts with an input error are left out of every report, whole.",
    "",
    "Report tabs (values, readable without Python)",
    "Summary \u2014 the as-of period, quarter and year to date; balances at the as-of date; charts.",
    "Revenue \u2014 the revenue waterfall: each contract line by period; Before + periods + After = Amount.",
    "Billings \u2014 the same for invoices.",
    "Bookings \u2014 bookings by period for each dimension (Product, Region, ...).",
    "Backlog \u2014 remaining performance obligations: opening + bookings \u2212 revenue = closing; RPO split.",
    "Deferred Revenue \u2014 rollforward of the contract liability, unbilled receivable beside it, ASC "
    "606-10-50-8 revenue from opening deferred.",
    "Allocation \u2014 each bundled contract's price allocated to its lines by relative standalone selling price.",
    "Changes \u2014 every cancellation and modification with its effect on bookings, revenue and backlog.",
    "Journal Entries \u2014 balanced entries per period with your GL account names (also a CSV).",
    "Exceptions \u2014 every input problem with its cell.",
    "Run Info \u2014 version, time of refresh, input fingerprint, and STALE when an input tab changed since.",
    "",
    "This tab, Summary and the other report tabs are rewritten by every refresh; Contracts, Events, FX Rates, "
    "Settings and "
    "any tab you add are never touched.",
]


def start_here(status: str, problems: int) -> SheetReport:
    s = SheetReport(START)
    s.add(1, 1, [["bbb_xl \u2014 bookings, billings, backlog and deferred revenue"]], "title")
    s.add(2, 1, [["Status", status]], ["subtitle", "status_ok" if not problems else "status_bad"])
    s.add(4, 1, [[line] for line in START_TEXT], "text")
    for i, line in enumerate(START_TEXT):
        if line in ("How to use it", "Report tabs (values, readable without Python)"):
            s.blocks.append(type(s.blocks[0])(4 + i, 1, [[line]], "subtitle"))
    return s


def compute_reports(contract_rows, settings_rows, event_rows=None, *,
                    refreshed_at: dt.datetime | None = None, fx_rows=None) -> Reports:
    """Parse the input tabs (problems located at their cells) and build every report tab. fx_rows: the FX Rates
    tab (Currency, Month, Rate), converting to the Settings Currency (the reporting currency)."""
    parsed = parse_contracts(contract_rows, sheet=CONTRACTS, origin=(1, 1))
    settings, settings_problems = parse_settings(settings_rows, sheet=SETTINGS)
    book = Book(parsed, settings.calendar if settings else CALENDAR, events=event_rows or None,
                events_sheet=EVENTS, events_origin=(1, 1), fx=fx_rows or None,
                reporting_currency=settings.currency if settings else None, fx_sheet=FX, fx_origin=(1, 1))
    if settings is None:
        reports = _not_refreshed(book, settings_problems)
    else:
        reports = build_reports(book, settings, input_problems=settings_problems, contract_rows=contract_rows,
                                refreshed_at=refreshed_at, event_rows=event_rows, fx_rows=fx_rows)
    reports.sheets[START] = start_here(reports.status, len(reports.problems))
    return reports


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


# --- STALE: checksums of the input tabs, computed here at refresh and live by one native formula ------------------
# Each input tab gets one integer checksum, the sum of exact integer terms (so float noise cannot flip it):
#   numbers and date serials: row weight x column weight x ROUND(value x 10^d), d = the column's decimals (<= 6);
#   choice columns: row weight x position of the normalized text in the fixed list of accepted spellings;
#   every text cell: row weight x column weight x LEN; short code columns (Currency, FX Month, the Settings values):
#   position-weighted UNICODE of their first characters.
# The formula holds only these computed integers and the fixed spelling lists: no input text ever enters it.
STALE_MARGIN = 1000  # rows below the last row read that the checksums still cover (rows appended later)
_ROW_W, _COL_W = 7, 5  # weights 1..7 by row and 1..5 by column: a value moved to another cell changes the sum
_MAX_DECIMALS = 6
_LIMIT = 10 ** 14  # every checksum stays an exact double and a 15-digit formula literal
_CHOICES = {
    CONTRACTS: {"recognition": (*RECOGNITION, *_RECOGNITION_ALIASES), "billing": tuple(BILLING),
                "billingtiming": tuple(TIMING)},
    EVENTS: {"event": tuple(_EVENT_KINDS), "treatment": tuple(TREATMENTS)},
}
_CODE_TEXT = {CONTRACTS: {"currency": 3}, EVENTS: {}, FX: {"currency": 3, "month": 10}, SETTINGS: {"value": 40}}
_EPOCH = dt.datetime(1899, 12, 30)


def _number(value):
    """The number Excel holds in a cell (dates as serials), or None for text, booleans, blanks and errors."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value - _EPOCH).total_seconds() / 86400 - (1 if value < dt.datetime(1900, 3, 1) else 0)  # 1900 leap bug
    if isinstance(value, dt.date):
        return _number(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, (int, float)) and not (type(value) is int and value in EXCEL_ERROR_CODES):
        return float(value) if math.isfinite(value) else None
    return None


def _text(value):
    """Text as Excel's ISTEXT sees it: strings, but not the error values the readers hand over as text."""
    return value if isinstance(value, str) and excel_error(value) is None else None


def _scaled(number: float, d: int) -> int:
    """ROUND(number * 10^d, 0): half away from zero, on the decimal the user typed (repr)."""
    q = (Decimal(repr(number)) * (10 ** d)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(q)


def _decimals(number: float) -> int:
    exp = Decimal(repr(number)).normalize().as_tuple().exponent
    return min(max(-exp, 0), _MAX_DECIMALS) if isinstance(exp, int) else 0


def _normalized_choice(text: str) -> str:
    """SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER(cell)," ",""),"-",""),"_","")"""
    return text.lower().replace(" ", "").replace("-", "").replace("_", "")


def _utf16(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


def _sheet_ref(sheet: str) -> str:
    return sheet if sheet.isalnum() else "'" + sheet.replace("'", "''") + "'"


def _checksum_terms(sheet: str, rows) -> list[tuple[str, int]]:
    """(formula expression, value at refresh) of each term of one input tab's checksum."""
    rows = [list(r) for r in rows or []]
    ncols = max((len(r) for r in rows), default=0)
    if ncols == 0:
        rows, ncols = [[None]], 1
    last = len(rows) + STALE_MARGIN
    q = _sheet_ref(sheet)

    def col_range(j):  # 0-based column
        letter = column_letter(j + 1)
        return f"{q}!${letter}$1:${letter}${last}"

    block = f"{q}!$A$1:${column_letter(ncols)}${last}"
    row_w = [r % _ROW_W + 1 for r in range(1, len(rows) + 1)]
    col_w = [c % _COL_W + 1 for c in range(1, ncols + 1)]
    cells = [(i, j, v) for i, row in enumerate(rows) for j, v in enumerate(row)]
    # numbers: one decimal count per column, lowered if the sum could leave exact integers
    numbers = [(i, j, n) for i, j, v in cells if (n := _number(v)) is not None]
    decimals = [0] * ncols
    for _, j, n in numbers:
        decimals[j] = max(decimals[j], _decimals(n))
    for j in range(ncols):
        while decimals[j] and sum(abs(n) for _, jj, n in numbers if jj == j) * 10 ** decimals[j] * 35 \
                > _LIMIT / ncols:
            decimals[j] -= 1
    total = sum(row_w[i] * col_w[j] * _scaled(n, decimals[j]) for i, j, n in numbers)
    terms = []
    weights = f"(MOD(ROW({block}),{_ROW_W})+1)*(MOD(COLUMN({block}),{_COL_W})+1)"
    scale = "{" + ",".join(str(10 ** d) for d in decimals) + "}"
    terms.append((f"SUMPRODUCT({weights}*IF(ISNUMBER({block}),ROUND({block}*{scale},0),0))", total))
    # text lengths, every column
    total = sum(row_w[i] * col_w[j] * len(_utf16(t)) for i, j, v in cells if (t := _text(v)) is not None)
    terms.append((f"SUMPRODUCT({weights}*IF(ISTEXT({block}),LEN({block}),0))", total))
    header = [normalize_header(str(h)) if h is not None else "" for h in rows[0]]
    # choice columns: the position of the spelling among the accepted ones (0: none of them)
    for key, spellings in _CHOICES.get(sheet, {}).items():
        if key not in header:
            continue
        j = header.index(key)
        rng = col_range(j)
        total = 0
        for i, row in enumerate(rows):
            t = _text(row[j]) if j < len(row) else None
            norm = _normalized_choice(t) if t is not None else None
            if norm in spellings:
                total += row_w[i] * (spellings.index(norm) + 1)
        listed = "{" + ",".join(f'"{s}"' for s in spellings) + "}"
        terms.append((f'SUMPRODUCT((MOD(ROW({rng}),{_ROW_W})+1)*IFERROR(MATCH(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE('
                      f'LOWER({rng})," ",""),"-",""),"_",""),{listed},0),0))', total))
    # short codes and settings: every character counts (Period, Report start, Currency, FX Month)
    for key, width in _CODE_TEXT.get(sheet, {}).items():
        if key not in header:
            continue
        j = header.index(key)
        rng = col_range(j)
        total = 0
        for i, row in enumerate(rows):
            t = _text(row[j]) if j < len(row) else None
            if t is not None:
                total += row_w[i] * sum(k * u for k, u in enumerate(_utf16(t)[:width], start=1))
        pos = "{" + ",".join(str(k) for k in range(1, width + 1)) + "}"
        terms.append((f"SUMPRODUCT((MOD(ROW({rng}),{_ROW_W})+1)*IF(ISTEXT({rng}),IFERROR(UNICODE(MID({rng},{pos},"
                      f"1)),0)*{pos},0))", total))
    return terms


def _tab_checksum(sheet: str, rows) -> tuple[str, int]:
    """(formula expression, value at refresh) of one input tab's checksum: the sum of its terms."""
    terms = _checksum_terms(sheet, rows)
    return "+".join(e for e, _ in terms), sum(v for _, v in terms)


def stale_formula(contract_rows, settings_rows=None, event_rows=None, fx_rows=None) -> str | None:
    """Native array formula for Run Info: "Up to date" while the checksums of Contracts, Events, FX Rates and
    Settings equal the ones at refresh, else STALE naming the first changed tab."""
    if not contract_rows:
        return None
    out = '"Up to date"'
    tabs = [(CONTRACTS, contract_rows), (EVENTS, event_rows), (FX, fx_rows), (SETTINGS, settings_rows)]
    for sheet, rows in reversed(tabs):
        if rows is None:
            continue  # a tab this workbook does not have
        expr, value = _tab_checksum(sheet, rows)
        out = f'IF({expr}<>{value},"STALE: {sheet} changed since the last refresh",{out})'
    return out
