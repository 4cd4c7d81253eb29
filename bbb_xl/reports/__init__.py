"""The report tabs as data: one builder for both shells (the Excel button and the headless refresh).

`build_reports(book, settings, ...) -> Reports`: every report tab as blocks of values with style names, plus
the CSV files to write beside the workbook. Pure: no Excel, no files. Money stays in int cents until a writer
formats it. One module per tab family; the block / sheet model is in `model`.
"""
from __future__ import annotations

import numpy as np

from ..core.periods import period_grid
from ..engine.book import Book
from ..settings import Settings
from .alerts import alerts_line, alerts_sheet
from .allocation import allocation_report
from .actual_vs_plan import actual_vs_plan_sheet
from .backlog import add_delivery_load, backlog_sheet, booking_changes
from .bookings import bookings_sheet
from .by_dimension import add_balances_by_dimension, by_dimension_sheet
from .changes import changes_sheet
from .deferred import deferred_sheet, revenue_from_opening_deferred
from .dimensions import chosen_dimensions
from .exceptions import exceptions_sheet
from ..engine.journal import journal_lines
from .journal import journal_accounts, journal_csv, journal_sheet
from .metrics import metrics_sheet
from .model import MONEY, Block, ChartData, Reports, SheetReport, fingerprint, money_text, money_texts, status_text
from .run_info import STALE_ROW, run_info_sheet
from .summary import summary_sheet
from .waterfall import waterfall_sheet
from .forecast import FORECAST_SHEET, forecast_sheet

REPORT_SHEETS = ["Summary", "Alerts", "Revenue", "Billings", "Bookings", "By Dimension", "Backlog",
                 "Deferred Revenue", "Allocation", "Changes", "Journal Entries", "Exceptions", "Run Info",
                 FORECAST_SHEET, "Actual vs Plan", "Metrics"]
# a workbook built before them is refreshed without them (`bbb-xl upgrade` adds them)
OPTIONAL_REPORT_SHEETS = ("Changes", "By Dimension", "Alerts", FORECAST_SHEET, "Actual vs Plan", "Metrics")


def build_reports(book: Book, settings: Settings, *, input_problems=(), contract_rows=None, refreshed_at=None,
                  rows_read: int | None = None, event_rows=None, fx_rows=None,
                  accounts=None, forecast_inputs=None, closed=None, plan=None, plan_problems=(),
                  input_rows=None) -> Reports:
    """closed: an engine.close.ClosedBook: closed months show their closed figures, differences are posted as
    out-of-period adjustments in the period holding the as-of date (engine.close). plan: the Plan tab parsed
    (engine.plan.Plan, None: no Plan tab); plan_problems: its problems (already in input_problems)."""
    cal = settings.calendar
    periods = period_grid(settings.report_first, settings.report_last, settings.period, cal)
    sel = np.arange(len(book.lines))
    dims = chosen_dimensions(book, settings)
    problems = tuple(book.problems) + tuple(input_problems) + dims.problems
    # Settings rows naming what is not there (a plan version, a column): warnings, found before the status is set
    late_problems, plan_choice = [], []
    add_delivery_load(SheetReport("Backlog"), book, settings, check_only=late_problems)
    actual_vs_plan_sheet(book, settings, [], plan, (), "", check_only=plan_choice)
    problems += tuple(late_problems) + tuple(plan_choice)
    status = status_text(problems)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    ends = bounds[1:]

    # line-level cumulative matrices at the period bounds (opening + each period end)
    view = None
    if closed is not None and closed.through is not None:
        from ..engine.close import report_view, view_balances
        view, adjustments, (rec, bil, boo) = report_view(book, closed, settings.as_of, bounds)
    else:
        rec = book.cumulative("revenue", sel, bounds)
        bil = book.cumulative("billings", sel, bounds)
        boo = book.cumulative("bookings", sel, bounds)
    rev_p, bil_p, boo_p = np.diff(rec, axis=1), np.diff(bil, axis=1), np.diff(boo, axis=1)
    backlog = (boo - rec).sum(axis=0)
    if view is None:
        deferred, unbilled = book.positions_cents(bounds, sel, rec, bil)
    else:
        deferred, unbilled = view_balances(book, view, rec, bil)
    rpo = book.rpo_series_cents(ends, sel)

    sheets = {}
    title = f"{settings.company} \u2014 "
    sheets["Summary"], chart = summary_sheet(book, settings, periods, problems, status, title, boo_p, bil_p,
                                              rev_p, backlog, deferred)
    sheets["Alerts"], n_alerts = alerts_sheet(book, settings, title)
    sheets["Summary"].add(5, 1, [alerts_line(n_alerts)], ["subtitle", "status_bad" if n_alerts else "status_ok"])
    detail_csv = []
    sheets["Revenue"] = waterfall_sheet("Revenue", book, settings, periods, rec, rev_p, title, detail_csv)
    sheets["Billings"] = waterfall_sheet("Billings", book, settings, periods, bil, bil_p, title, detail_csv)
    sheets["Bookings"] = bookings_sheet(book, settings, periods, boo_p, title, dims.used)
    sheets["By Dimension"] = by_dimension_sheet(book, settings, periods, rev_p, bil_p, title, dims)
    changes_p = np.diff(booking_changes(book, sel, bounds), axis=1)
    sheets["Backlog"] = backlog_sheet(settings, periods, backlog, boo_p, rev_p, rpo, title, changes_p)
    add_delivery_load(sheets["Backlog"], book, settings)
    assumptions, pipeline, notes = forecast_inputs or (None, None, ())
    sheets["Actual vs Plan"], plan_charts = actual_vs_plan_sheet(
        book, settings, periods, plan, plan_problems, title,
        actuals={"revenue": rev_p.sum(axis=0), "billings": bil_p.sum(axis=0), "bookings": boo_p.sum(axis=0),
                 "backlog": backlog[1:], "deferred": deferred[1:]}, forecast_inputs=(assumptions, pipeline))
    sheets["Changes"] = changes_sheet(book, settings, title)
    sheets["Deferred Revenue"] = deferred_sheet(book, settings, periods, bounds, rec, bil_p, rev_p, deferred,
                                                unbilled, title, view, bil)
    add_balances_by_dimension(sheets["Deferred Revenue"], book, settings, dims)
    journal_args = (book, periods[0].first, periods[-1].last, settings.period, settings.journal_detail,
                    settings.invoices_posted_by, accounts or journal_accounts(settings)[0], settings.currency,
                    (rec, bil))
    if view is None:
        journal, _ = journal_lines(*journal_args)
    else:
        from ..engine.close import _journal_with_adjustments
        from .deferred import adjustments_section
        journal, _ = _journal_with_adjustments(journal_args[0], view, adjustments, *journal_args[1:])
        adjustments_section(sheets["Deferred Revenue"], view, adjustments, settings)
    sheets["Journal Entries"] = journal_sheet(journal, settings, title)
    sheets["Exceptions"] = exceptions_sheet(problems, book, settings, title)
    sheets["Allocation"] = allocation_report(book, title)
    # input_rows: every input tab (run_info.fingerprint_rows), else Contracts, Events and FX Rates
    sheets["Run Info"] = run_info_sheet(book, settings, input_rows if input_rows is not None else
                                        (contract_rows or []) + [["Events"]] + (event_rows or [])
                                        + ([["FX Rates"]] + fx_rows if fx_rows else []),
                                        refreshed_at, rows_read, title, dims)
    # forecast_inputs: (assumptions, pipeline, notes) parsed by the caller (their problems are in input_problems)
    sheets[FORECAST_SHEET] = forecast_sheet(book, settings, title, assumptions, pipeline, notes)
    sheets["Metrics"] = metrics_sheet(book, settings, periods, title, rpo)
    csv_files = detail_csv + [("Journal Entries", journal_csv(journal, settings))]
    return Reports(sheets, csv_files, chart, status, int(book.lines.amount.sum()) + book.parsed.excluded_amount,
                   problems, {"Actual vs Plan": plan_charts})


__all__ = ["build_reports", "REPORT_SHEETS", "OPTIONAL_REPORT_SHEETS", "STALE_ROW", "MONEY", "Block", "ChartData",
           "Reports", "SheetReport", "fingerprint", "money_text", "money_texts", "status_text",
           "revenue_from_opening_deferred"]
