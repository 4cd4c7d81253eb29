"""The Excel faces: the Refresh button (xlwings RunPython, Windows and macOS), the headless refresh, the template.

`refresh()` is what the button's VBA macro runs: `RunPython "import bbb_xl.excel; bbb_xl.excel.refresh()"`.
It builds exactly the report content of the headless refresh (one builder: `workflow.compute_reports`) and writes
it through xlwings into the open workbook; Excel saves it as usual.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..core.errors import column_letter
from ..files import csv_text
from ..reports import MONEY, STALE_ROW
from ..reports.layout import sheet_layout
from ..reports.run_info import add_audit_row
from .audit_trail import AUDIT_TABS, format_trail, prepare
from .workflow import (ACCOUNTS, CONTRACTS, EVENTS, FX, GENERATED_SHEETS, PLAN, SETTINGS, STALE_CHECK_COLUMN,
                       compute_reports, last_refresh_version, stale_check)
from .workflow import input_tabs, point_charts, write_links  # every input tab; links and charts as headless
from .workflow import ASSUMPTIONS, PIPELINE  # the optional forecast input tabs
from .workflow import OPENING  # the optional Opening Balances tab (docs/cutover.md)
from .workflow import TIERS  # the optional Price Tiers tab (engine.usage)

NUMBER_FORMATS = {MONEY: "#,##0.00_);(#,##0.00)", "money_total": "#,##0.00_);(#,##0.00)", "date": "yyyy-mm-dd",
                  "stamp": "yyyy-mm-dd hh:mm:ss", "ratio": "0.00", "int": "#,##0",
                  "percent": "0.0%"}
WRAPPED = {"header", "banner"}
BOLD = {"title", "header", "money_total", "status_ok", "status_bad", "banner"}
FILLS = {"header": (217, 225, 242), "status_ok": (198, 239, 206), "status_bad": (255, 199, 206),
         "banner": (192, 0, 0)}
_FORMULA_START = ("=", "+", "-", "@")


def refresh(book=None) -> str:
    """Refresh every report tab of the calling workbook (the button); returns the status text."""
    if book is None:
        import xlwings as xw
        book = xw.Book.caller()
    contracts = read_sheet(book.sheets[CONTRACTS])
    settings = read_sheet(book.sheets[SETTINGS])
    names = [s.name for s in book.sheets] if hasattr(book.sheets, "__iter__") and not isinstance(book.sheets, dict) \
        else list(book.sheets)
    events = read_sheet(book.sheets[EVENTS]) if EVENTS in names else None
    fx = read_sheet(book.sheets[FX]) if FX in names else None
    accounts = read_sheet(book.sheets[ACCOUNTS]) if ACCOUNTS in names else None
    plan = read_sheet(book.sheets[PLAN]) if PLAN in names else None
    # the version that refreshed it last: Run Info's "bbb_xl version" row (A3:B3)
    previous = last_refresh_version([book.sheets["Run Info"].range((3, 1), (3, 2)).value or []]) \
        if "Run Info" in names else None
    pipeline = read_sheet(book.sheets[PIPELINE]) if PIPELINE in names else None
    assumptions = read_sheet(book.sheets[ASSUMPTIONS]) if ASSUMPTIONS in names else None
    from .close import read_closed_rows
    from .record_tabs import CLOSED_PERIODS
    # the Closed Periods record tab is read (closed months reported as closed), never written by a refresh
    closed = read_closed_rows(read_sheet(book.sheets[CLOSED_PERIODS])).closed if CLOSED_PERIODS in names else None
    opening = read_sheet(book.sheets[OPENING]) if OPENING in names else None
    tiers = read_sheet(book.sheets[TIERS]) if TIERS in names else None
    reports = compute_reports(contracts, settings, events, fx_rows=fx, accounts_rows=accounts,
                              template_version=_template_version(book), previous_version=previous,
                              pipeline_rows=pipeline, assumptions_rows=assumptions, closed=closed,
                              plan_rows=plan, opening_rows=opening, tiers_rows=tiers)
    inputs = input_tabs(contracts, settings, events, fx, accounts, plan, pipeline, assumptions, opening, tiers)
    appended = None
    if all(name in names for name in AUDIT_TABS):  # tabs the headless refresh adds (Excel holds the file here)
        appended = prepare(read_sheet(book.sheets[AUDIT_TABS[0]]), read_sheet(book.sheets[AUDIT_TABS[1]]),
                           inputs, "refresh (Excel)")
        add_audit_row(reports.sheets["Run Info"], appended.status, bool(appended.problems))
    written = [book.sheets[name] for name in GENERATED_SHEETS + list(AUDIT_TABS) if name in names]
    for sheet in written:  # protected tabs: lifted for the refresh, restored after it
        set_protection(sheet, False)
    try:
        _write_reports(book, names, reports, inputs, appended)
    finally:
        for sheet in written:
            set_protection(sheet, True)
    return reports.status


def _write_reports(book, names, reports, inputs, appended) -> None:
    for name in GENERATED_SHEETS:
        if name not in names:
            continue  # an optional report tab an older workbook does not have
        write_sheet(book.sheets[name], reports.sheets[name])
        if reports.sheets[name].links:  # line-level rows -> their input rows
            write_links(book.sheets[name], reports.sheets[name])
        if reports.charts.get(name):  # Actual vs Plan: each metric's chart over the report's periods
            point_charts(book.sheets[name], name, reports.charts[name])
    check = stale_check(inputs)
    if check:  # checksum cells are array formulas: their IFs and MATCHes work on whole ranges in every Excel
        run_info = book.sheets["Run Info"]
        run_info.range((STALE_ROW, 1)).value = "Reports vs inputs"
        run_info.range((STALE_ROW, 2)).formula = "=" + check.status
        for i, formula in enumerate(check.checks, start=1):
            run_info.range((i, STALE_CHECK_COLUMN)).formula_array = "=" + formula
        run_info.range((1, STALE_CHECK_COLUMN)).column_width = 0  # hidden
    chart = reports.chart
    if chart.periods:  # column chart: bookings, billings, revenue; line chart: backlog, deferred revenue
        last = column_letter(chart.first_col + chart.periods - 1)
        top, rows = chart.label_row, chart.series_rows
        sources = [f"A{top}:{last}{rows['Revenue']}",
                   f"A{top}:{last}{top},A{rows['Backlog']}:{last}{rows['Deferred revenue']}"]
        summary = book.sheets["Summary"]
        for ch, address in zip(summary.charts, sources):
            ch.set_source_data(summary.range(address))
    own = reports.sheets["Metrics"].chart if "Metrics" in names and "Metrics" in reports.sheets else None
    if own is not None and own.periods:  # the bridge chart: stacked columns over the chart data rows
        last = column_letter(own.first_col + own.periods - 1)
        rows = sorted(own.series_rows.values())
        metrics = book.sheets["Metrics"]
        for ch in metrics.charts:
            source = metrics.range(f"A{own.label_row}:{last}{rows[-1]}")
            try:  # series in rows (xlRows = 1) whatever the shape; the value axis from the floor (Windows COM)
                ch.api[1].SetSourceData(source.api, 1)
                ch.api[1].Axes(2).MinimumScale = own.axis_floor / 100 if own.axis_floor else 0
            except Exception:  # another host: xlwings' own call
                ch.set_source_data(source)
    folder = Path(book.fullname).parent
    for suffix, rows_ in reports.csv_files:
        (folder / f"{Path(book.fullname).stem} - {suffix}.csv").write_text(csv_text(rows_), encoding="utf-8")
    if appended is not None:
        write_audit(book.sheets[AUDIT_TABS[0]], book.sheets[AUDIT_TABS[1]], appended)


def write_audit(trail, snapshot, appended) -> None:
    """The entry into the open workbook: the Audit Trail's rows (below it when the trail is broken: kept as found),
    the _Snapshot rows after its last row. Every cell is text (format @), so Excel reads no hash or ID as a
    number or date; entry numbers stay numbers."""
    if appended.trail is not None:
        trail.cells.clear()
        _write_text_rows(trail, 1, [[None if v == "" else v for v in row] for row in appended.trail.rows()])
        format_trail(trail, appended.trail)  # widths, one-line rows, Changes wrapped
    else:
        _write_text_rows(trail, _next_row(trail), appended.trail_rows)
    _write_text_rows(snapshot, _next_row(snapshot), appended.snapshot_rows)


def _next_row(sheet) -> int:
    used = read_sheet(sheet)
    return len(used) + 1 if any(v not in (None, "") for r in used for v in r) else 1


def _write_text_rows(sheet, top: int, rows) -> None:
    """Column A as it is (entry numbers), columns B on as text."""
    if not rows:
        return
    width = max(len(r) for r in rows)
    sheet.range((top, 1)).value = [[r[0] if r else None] for r in rows]
    if width > 1:
        sheet.range((top, 2), (top + len(rows) - 1, width)).number_format = "@"
        sheet.range((top, 2)).value = [[_text(v) for v in r[1:]] + [None] * (width - max(len(r), 1))
                                       for r in rows]


def _text(value):
    return None if value in (None, "") else "'" + str(value) if str(value).startswith(_FORMULA_START) \
        else str(value)


def set_protection(sheet, on: bool) -> None:
    """Sheet protection on (no password; contents, drawings, scenarios; column widths and row heights stay
    adjustable) or off, through Excel's object model (Windows COM, macOS AppleScript). A stand-in sheet without
    `api` (tests) is left alone."""
    import sys
    api = getattr(sheet, "api", None)
    if api is None:
        return
    if sys.platform == "darwin":
        if on:
            api.protect_worksheet(drawing_objects=True, worksheet_contents=True, scenarios=True,
                                  allow_formatting_columns=True, allow_formatting_rows=True)
        else:
            api.unprotect()
    elif on:
        api.Protect(DrawingObjects=True, Contents=True, Scenarios=True, AllowFormattingColumns=True,
                    AllowFormattingRows=True)
    else:
        api.Unprotect()


def _template_version(book) -> int:
    """The workbook's template version (defined name); 1 when it has none (made before versions were recorded).
    The button refresh does not add missing tabs (Excel holds the file): `bbb-xl upgrade BOOK` does."""
    from .upgrade import VERSION_NAME
    try:
        refers_to = book.names[VERSION_NAME].refers_to
    except Exception:  # no such name (or a stand-in book without names)
        return 1
    digits = "".join(ch for ch in str(refers_to) if ch.isdigit())
    return int(digits) if digits else 1


def read_sheet(sheet) -> list[list]:
    """All cells from A1 to the last used cell, raw (error cells stay error codes)."""
    last = sheet.used_range.last_cell
    rng = sheet.range((1, 1), (last.row, last.column))
    value = rng.raw_value
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(r) for r in value]


def excel_value(value, style: str):
    """A report cell as xlwings writes it: money as the double nearest its cents, text that Excel would read
    as a formula kept as text (apostrophe prefix)."""
    if value is None:
        return None
    if style in (MONEY, "money_total") and isinstance(value, int):
        return value / 100  # exact cents / 100: the correctly rounded double
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def write_sheet(sheet, report) -> None:
    sheet.cells.clear()
    for block in report.blocks:
        values = block.values.tolist() if hasattr(block.values, "tolist") else block.values
        rows = [[excel_value(v, block.style_of(j)) for j, v in enumerate(row)] for row in values]
        if not rows or not rows[0]:
            continue
        top, left = block.row, block.col
        sheet.range((top, left)).value = rows
        for j in range(block.width):
            style = block.style_of(j)
            col = sheet.range((top, left + j), (top + len(rows) - 1, left + j))
            if style in NUMBER_FORMATS:
                col.number_format = NUMBER_FORMATS[style]
            if style in BOLD:
                col.font.bold = True
            if style in FILLS:
                col.color = FILLS[style]
            if style in WRAPPED:
                col.wrap_text = True
    for address in report.merges:  # banners: one cell across the row, so their text is never cut
        sheet.range(address).merge()
    layout = sheet_layout(report)  # the headless refresh's widths and heights
    for c, width in layout.widths.items():
        sheet.range((1, c)).column_width = width
    for r, height in layout.heights.items():
        sheet.range((r, 1)).row_height = height
    for r, c in layout.wrapped:
        sheet.range((r, c)).wrap_text = True


def clear_sample(book=None) -> str:
    """The "Clear sample data" button: empty Contracts, Events and FX Rates and reset the Company name in the open
    workbook, then refresh. Refuses (an alert, nothing changed) unless those rows are still the shipped sample:
    the headless `bbb-xl clear-sample BOOK --force` is the way to clear your own rows (it keeps a copy).

    Excel holds the open file, so the button works on the open workbook through xlwings rather than on the file:
    each tab's rows below the header are deleted (shift up: an Excel Table shrinks to its header and one empty
    row and keeps its validation and formats), like selecting them and pressing Delete row."""
    from .inputs import (COMPANY_SETTING, DEFAULT_COMPANY, SAMPLE_SHEETS, inputs_fingerprint, is_sample_plan,
                         shipped_fingerprints)
    if book is None:
        import xlwings as xw
        book = xw.Book.caller()
    names = [s.name for s in book.sheets] if hasattr(book.sheets, "__iter__") and not isinstance(book.sheets, dict) \
        else list(book.sheets)
    rows = {name: read_sheet(book.sheets[name]) for name in SAMPLE_SHEETS if name in names}
    if PLAN in names:  # the sample budget goes with the sample (a plan of your own stays)
        plan = read_sheet(book.sheets[PLAN])
        if is_sample_plan(plan):
            rows[PLAN] = plan
    if inputs_fingerprint(rows.get(CONTRACTS), rows.get(EVENTS), rows.get(FX)) not in shipped_fingerprints():
        message = ("Contracts, Events and FX Rates no longer hold the shipped sample: they look like your own data, "
                   "so nothing was cleared. To clear them anyway, close the workbook and run "
                   "bbb-xl clear-sample --force (it keeps a copy).")
        alert = getattr(getattr(book, "app", None), "alert", None)
        if alert:
            alert(message, title="bbb_xl")
        return message
    from .inputs import FORECAST_SAMPLE_SHEETS, forecast_sample_tabs
    forecast_rows = {name: read_sheet(book.sheets[name]) for name in FORECAST_SAMPLE_SHEETS if name in names}
    rows.update({name: forecast_rows[name] for name in forecast_sample_tabs(forecast_rows)})
    for name, sheet_rows in rows.items():
        if len(sheet_rows) > 1:
            width = max(len(r) for r in sheet_rows)
            book.sheets[name].range((2, 1), (len(sheet_rows), width)).delete("up")
    settings = read_sheet(book.sheets[SETTINGS])
    for r, row in enumerate(settings, start=1):
        if row and str(row[0] or "").strip() == COMPANY_SETTING:
            book.sheets[SETTINGS].range((r, 2)).value = DEFAULT_COMPANY
    return refresh(book)


# --- the ribbon's Close group (bbb_xl.xlam: vba/RibbonClose.bas runs these through RunPython) ----------------------
def sheet_names(book) -> list:
    """The tab names of an xlwings book (or of a test's stand-in: a dict of sheets)."""
    sheets = book.sheets
    return list(sheets) if isinstance(sheets, dict) or not hasattr(sheets, "__iter__") else [s.name for s in sheets]


def close_through(through: str, book=None) -> str:
    """The "Close month…" button: close every month up to `through` ('2025-12', checked in VBA and again here) in
    the active workbook, as `bbb-xl close BOOK --through` does to a file; shows the outcome in an alert."""
    from .close import close_open_workbook
    return _close_button(lambda wb: close_open_workbook(wb, through), book,
                         lambda r: f"Closed through {r.closed_through}: {r.records:,} closed record(s) added to "
                                   f"the Closed Periods tab; the reports are refreshed. Save the workbook to keep it.")


def reopen_from(from_month: str, reason_hex: str, book=None) -> str:
    """The "Reopen…" button: reopen every closed month from `from_month` on; the reason arrives as hexadecimal
    UTF-16 (close.reason_from_hex), never as Python source."""
    from .close import reason_from_hex, reopen_open_workbook
    return _close_button(lambda wb: reopen_open_workbook(wb, from_month, reason_from_hex(reason_hex)), book,
                         lambda r: f"Reopened from {from_month}: {r.records:,} closed record(s) removed; closed "
                                   f"through {r.closed_through or 'nothing'} now. Save the workbook to keep it.")


def _close_button(run, book, done) -> str:
    from ..core.errors import BBBError
    if book is None:  # in an add-in, Book.caller() is the add-in: the workbook is the active one
        import xlwings as xw
        book = xw.books.active
    try:
        message = done(run(book))
    except BBBError as exc:  # refused: nothing written; the reason, located, in an alert
        shown = [str(p) for p in exc.problems[:5]]
        more = len(exc.problems) - len(shown)
        message = "Nothing was written. " + "\n".join(shown) + (f"\n(and {more} more)" if more > 0 else "")
    alert = getattr(getattr(book, "app", None), "alert", None)
    if alert:
        alert(message, title="bbb_xl")
    return message
