"""One report builder, two shells: inputs (rows of the input tabs) -> Reports, shared by the Excel button and
the headless refresh, so both produce identical report content."""
from __future__ import annotations

import datetime as dt

from ..core.errors import column_letter, errors_only
from ..core.periods import CALENDAR
from ..engine.book import Book
from ..engine.journal import mapping_problems
from ..engine.table import booking_after_as_of, normalize_header, parse_contracts
from ..reports import OPTIONAL_REPORT_SHEETS, REPORT_SHEETS, ChartData, Reports, SheetReport, build_reports, \
    status_text
from ..reports.journal import journal_accounts
from ..reports.run_info import add_layout_rows
from ..settings import parse_settings, read_parse_options

CONTRACTS, SETTINGS, EVENTS, FX, START = "Contracts", "Settings", "Events", "FX Rates", "Start here"
ACCOUNTS = "Accounts"  # optional: a workbook built before it existed refreshes without it
INPUT_SHEETS = (CONTRACTS, SETTINGS, EVENTS, FX, ACCOUNTS)
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
    "Run Info \u2014 version, time of refresh, input fingerprint, and STALE when Contracts changed since.",
    "",
    "This tab, Summary and the other report tabs are rewritten by every refresh; the refresh never changes a row "
    "of Contracts, Events, FX Rates, Settings, Accounts or any tab you add (a workbook from an older template gets "
    "the missing tabs and Settings rows added first). Only Clear sample data (bbb-xl clear-sample) removes input "
    "rows.",
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


def compute_reports(contract_rows, settings_rows, event_rows=None, *,
                    refreshed_at: dt.datetime | None = None, fx_rows=None, accounts_rows=None,
                    template_version: int | None = None, previous_version: str | None = None) -> Reports:
    """Parse the input tabs (problems located at their cells) and build every report tab. fx_rows: the FX Rates
    tab (Currency, Month, Rate), converting to the Settings Currency (the reporting currency); accounts_rows: the
    Accounts tab (Product, Revenue Account) for the journal."""
    settings, settings_problems = parse_settings(settings_rows, sheet=SETTINGS)
    # Decimal separator, Date order, Time zone: read even when another setting is wrong (its problems are there)
    options = settings.parse_options if settings else read_parse_options(settings_rows, SETTINGS)[0]
    parsed = parse_contracts(contract_rows, sheet=CONTRACTS, origin=(1, 1), options=options)
    book = Book(parsed, settings.calendar if settings else CALENDAR, events=event_rows or None,
                events_sheet=EVENTS, events_origin=(1, 1), fx=fx_rows or None,
                reporting_currency=settings.currency if settings else None, fx_sheet=FX, fx_origin=(1, 1))
    if settings is None:
        reports = _not_refreshed(book, settings_problems)
    else:
        # where an as-of date exists: lines booked more than a year after it (warnings)
        late = booking_after_as_of(book.parsed, settings.as_of)
        accounts, accounts_problems = journal_accounts(settings, accounts_rows, ACCOUNTS)
        accounts_problems += mapping_problems(book, accounts)
        reports = build_reports(book, settings, input_problems=list(settings_problems) + late + accounts_problems,
                                contract_rows=contract_rows, refreshed_at=refreshed_at, event_rows=event_rows,
                                fx_rows=fx_rows, accounts=accounts)
    reports.sheets[START] = start_here(reports.status, len(errors_only(reports.problems)))
    if settings is not None and template_version is not None:  # the workbook's layout and engine history
        add_layout_rows(reports.sheets["Run Info"], template_version, previous_version)
    return reports


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


def stale_formula(contract_rows, amount_total_cents: int) -> str | None:
    """Native formula for Run Info: STALE once the Contracts Amount total differs from the one at refresh."""
    header = contract_rows[0] if contract_rows else []
    for j, h in enumerate(header):
        if h is not None and normalize_header(str(h)) == "amount":
            col = column_letter(j + 1)
            total = f"{amount_total_cents // 100}.{amount_total_cents % 100:02d}" if amount_total_cents >= 0 \
                else f"-{(-amount_total_cents) // 100}.{(-amount_total_cents) % 100:02d}"
            return (f'IF(ROUND(SUM({CONTRACTS}!${col}:${col}),2)=ROUND({total},2),"Up to date",'
                    f'"STALE: Contracts changed since the last refresh")')
    return None
