"""Build the template workbook (and the demo) from sources in the repo: xlsxwriter lays out the tabs, the VBA
project and buttons come from vba_project, then a headless refresh fills the report tabs."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import xlsxwriter

from ..engine.events import EVENT_NAMES, TREATMENT_NAMES
from ..engine.table import BILLING_NAMES, LONG_TERM_MONTHS, RECOGNITION_NAMES, RENEWAL_NAMES, TIMING_NAMES
from ..imports.mapping import CONTRACT_FIELDS, EVENT_FIELDS, HEADINGS as MAPPING_COLUMNS, KINDS, MAPPING_TAB
from ..imports.profiles.salesforce import SAMPLE_MAPPING_ROWS
from ..sample import (EVENT_COLUMNS, FX_COLUMNS, PLAN_COLUMNS, SAMPLE_SETTINGS, sample_contracts, sample_events,
                      sample_plan, template_examples)
from ..sample import sample_assumptions, sample_pipeline
from ..settings import SETTINGS
from . import vba_project
from .headless import RefreshResult, refresh_file
from .package import default_file_mode
from ..engine.journal import DETAILS, MODES
from ..engine.fx_ifric22 import FX_METHODS
from ..engine.metrics import ARR_BASES
from ..reports.metrics import CHART_ANCHOR_ROW, CHART_LABEL_ROW, CHART_SERIES
from .upgrade import TEMPLATE_VERSION, VERSION_NAME
from .workflow import ACCOUNTS, CONTRACTS, EVENTS, FX, GENERATED_SHEETS, PLAN, SETTINGS as SETTINGS_SHEET, START
from .workflow import ASSUMPTIONS, PIPELINE
from .workflow import OPENING
from ..engine.forecast import DEAL_TYPES
from ..reports.forecast import CHART_PERIODS, CHART_ROW, FORECAST_BLOCKS, FORECAST_SHEET

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "workbook_templates" / "bbb_template.xlsm"
BUILD_TIME = dt.datetime(2025, 1, 1)  # fixed document dates: the same sources give the same file

HEADER_NOTES = {
    "Contract ID": "Required. Lines with the same Contract ID are one contract: deferred revenue and unbilled "
                   "receivable are netted per contract.",
    "Customer": "Required. One customer per Contract ID.",
    "Line ID": "Optional. Must be unique within a contract when given.",
    "Product": "Optional dimension for filters and reports.",
    "Booking Date": "Optional, default Start Date. The day the contract was signed: the whole Amount is booked "
                    "that day and nothing is recognized before it.",
    "Start Date": "Required. First day of service, inclusive.",
    "End Date": "Last day of service, inclusive. Required unless Recognition is point in time.",
    "Amount": "Required. Transaction price of the line over its whole term. Negative for a discount or credit.",
    "SSP": "Optional standalone selling price. When one line of a contract has an SSP, all must: the contract's "
           "price (sum of Amounts) is then allocated to its lines by relative SSP (ASC 606-10-32-28).",
    "Recognition": "monthly (default): equal amounts per calendar month, partial months by days; daily: by day; "
                   "point in time: all on Start Date; milestone / percent complete: by the Percent of the Events; "
                   "usage: as used (usage events, Unit Price or Price Tiers; Amount = committed minimum).",
    "Billing": "upfront (default), monthly, quarterly, semiannual or annual, anchored on Billing Start.",
    "Billing Timing": "advance (default): invoice on the first day of each billing period; arrears: on its last.",
    "Billing Start": "Optional, default Start Date. Anchor of the billing calendar.",
    "Currency": "Optional ISO 4217 code of the line's Amount (blank: the Settings Currency). One currency per "
                "contract; other currencies convert at the FX Rates rate of the Booking Date's month.",
    "Renewal": "Optional. auto: an evergreen line (End Date blank, a recurring Billing) renews term after term "
               "until a cancel event, each term booked on its first day at the line's Amount (the price per "
               "term). Blank or none: an ordinary line.",
    "Term": "Optional, with Renewal auto: months per term, a whole number (blank: the Billing interval, e.g. 12 "
            "for annual).",
    "Unit Price": "Read on usage lines only (Recognition usage): the price per unit of its usage events, 0 or more, "
                  "fractions of a cent allowed (blank: the Price Tiers tab prices the line). On other lines a plain "
                  "column.",
    "Region": "Any other column is a dimension for filters and group-by.",
    "Segment": "Any other column is a dimension for filters and group-by.",
}
EVENT_NOTES = {
    "Contract ID": "Required. The contract the event belongs to.",
    "Line ID": "Optional. Blank: every line of the contract (amounts spread in proportion to line Amounts).",
    "Date": "Required. The day of the invoice, of the progress, or from which a cancellation or modification "
            "applies.",
    "Event": "invoice (Amount): a contract with invoices is billed exactly its invoices; milestone / percent "
             "complete (Percent): cumulative progress of a milestone / percent complete line; cancel: the service "
             "ends on Date (a usage line: its minimum ends, unused prepaid credits are breakage on Date); modify "
             "(Amount, End Date, Treatment): the line's new total price from Date; adjust "
             "(Amount +/-, Bill): a price change, recognized to date restated on Date (ASC 606-10-32-42..45); "
             "usage (Quantity): units used on Date by a usage line, revenue in that period and invoiced in arrears "
             "at its billing period end (ASC 606-10-55-18).",
    "Amount": "Invoice amount; for modify the line's new total price; for cancel the revised total price "
              "(blank: what was billed or recognized, whichever is more: no refund, no reversal; before the Start "
              "Date: 0); for adjust the change in price (+ or -).",
    "Percent": "Cumulative progress, 0% to 100%. A lower percent later reverses revenue.",
    "End Date": "modify only, optional: the new last day of service (blank: unchanged).",
    "Treatment": "modify only: prospective (default, ASC 606-10-25-13(a): the rest over the remaining term) or "
                 "catch-up (25-13(b): restate recognized-to-date on Date).",
    "Bill": "adjust only: yes = an invoice (a credit note when the Amount is negative) on Date; blank or no = the "
            "later invoices carry it, and a price below what was billed is a refund liability (ASC 606-10-32-10).",
    "Memo": "Optional free text, shown on the Changes tab.",
    "Source ID": "Optional. The event's id in the system it came from (the invoice number): bbb-xl import updates "
                 "the row with the same Source ID instead of adding it twice.",
    "Quantity": "usage only: the units used on Date (0 or more), priced per billing period by the line's Unit "
                "Price or the Price Tiers tab.",
    "Term": "modify on an evergreen line (Renewal auto) only, optional: the new months per term, a whole number "
            "from 1 to 120 (blank: unchanged). The term containing Date is repriced pro rata; later terms renew at "
            "the new Amount and Term.",
}
# Optional columns the template shows after the sample's own (an existing book lacks them and needs none): the
# evergreen Renewal and Term of a line, the Source ID an import matches events by, the Quantity of a usage event
# and the Term of an evergreen modify
TEMPLATE_CONTRACT_COLUMNS = ("Renewal", "Term")
TEMPLATE_EVENT_COLUMNS = ("Source ID", "Quantity", "Term")


def _validate_column(ws, header: list, name: str, rule: dict) -> None:
    """Data validation on every row of column `name` under the header, when the header has it."""
    if name in header:
        j = header.index(name)
        ws.data_validation(1, j, 1_048_575, j, rule)


def _term_rule(blank: str) -> dict:
    """A Term (Contracts or Events): whole months from 1 to LONG_TERM_MONTHS; blank: what a blank means there."""
    return {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": LONG_TERM_MONTHS,
            "error_title": "Term", "error_message": f"Term is a whole number of months from 1 to {LONG_TERM_MONTHS} "
                                                    f"{blank}"}


def _with_columns(rows: list[list], names) -> list[list]:
    """rows with the columns `names` it lacks added at the end, blank (the sample's figures are unchanged)."""
    header = list(rows[0])
    extra = [n for n in names if n not in header]
    return [header + extra] + [list(r) + [None] * (len(header) - len(r)) + [None] * len(extra) for r in rows[1:]]


def build_workbook(path, contracts: list[list], settings_values: dict, events: list[list] | None = None, *,
                   refreshed_at=BUILD_TIME, keep_csv: bool = True, pipeline=None, assumptions=None,
                   plan: list[list] | None = None, mapping: list[list] | None = None) -> RefreshResult:
    """Lay out every tab with xlsxwriter, then refresh the reports headless (CSV exports beside the file).
    pipeline / assumptions / plan / mapping: rows of the Pipeline, Forecast Assumptions, Plan and Mapping tabs (None:
    header only)."""
    path = Path(path)
    macros = path.suffix.lower() != ".xlsx"  # .xlsx: the macro-free workbook to share (no VBA, no buttons)
    fd, tmp = tempfile.mkstemp(prefix=".~bbb_build_", suffix=".xlsm" if macros else ".xlsx", dir=path.parent)
    os.close(fd)
    try:
        _layout(tmp, contracts, settings_values, events or [list(EVENT_COLUMNS)], macros=macros,
                pipeline=pipeline, assumptions=assumptions, plan_rows=plan, mapping_rows=mapping)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # the template (a fixed build time) records no one's changes; a demo's first refresh is its first entry
    result = refresh_file(path, refreshed_at=refreshed_at, audit=refreshed_at is None)
    if not keep_csv:
        for csv_path in result.csv_files:
            csv_path.unlink(missing_ok=True)
        result.csv_files = []
    return result


def build_template(path=TEMPLATE_PATH) -> RefreshResult:
    rows, events = template_examples()
    return build_workbook(path, rows, SAMPLE_SETTINGS, events, keep_csv=False, pipeline=sample_pipeline(),
                          assumptions=sample_assumptions(), plan=sample_plan(), mapping=SAMPLE_MAPPING_ROWS)


def build_demo(path) -> RefreshResult:
    """A new workbook from the template sources, filled with the built-in sample book and refreshed."""
    rows = sample_contracts()
    return build_workbook(path, rows, SAMPLE_SETTINGS, sample_events(rows), refreshed_at=None,
                          pipeline=sample_pipeline(), assumptions=sample_assumptions(), plan=sample_plan(),
                          mapping=SAMPLE_MAPPING_ROWS)


def _layout(path, contracts, settings_values, events, fx_rows=None, macros: bool = True, pipeline=None,
            assumptions=None, plan_rows=None, mapping_rows=None) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": "bbb_xl reports", "author": "bbb_xl", "created": BUILD_TIME})
    wb.set_calc_mode("auto")
    wb.define_name(VERSION_NAME, f"={TEMPLATE_VERSION}")  # what `bbb-xl upgrade` compares with
    f_title = wb.add_format({"bold": True, "font_size": 14})
    f_head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "bottom": 1, "text_wrap": True,
                            "valign": "top"})
    f_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    f_money = wb.add_format({"num_format": "#,##0.00_);(#,##0.00)"})
    f_pct = wb.add_format({"num_format": "0%"})
    f_wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    start = wb.add_worksheet(START)
    start.set_column(0, 0, 16)
    start.set_column(1, 1, 44)
    if macros:
        vba_project.add_refresh_button(wb, start, "C2", width=150, height=32)
        vba_project.add_refresh_button(wb, start, "F2", width=150, height=32,
                                       caption=vba_project.CLEAR_BUTTON_CAPTION, macro=vba_project.CLEAR_MACRO_NAME)

    # --- Contracts: an Excel Table with notes, validation, formats
    ws = wb.add_worksheet(CONTRACTS)
    contracts = _with_columns(contracts, TEMPLATE_CONTRACT_COLUMNS)
    header = contracts[0]
    body = contracts[1:]
    widths = {"Contract ID": 12, "Customer": 24, "Line ID": 8, "Product": 22, "Amount": 16, "Recognition": 14,
              "Billing": 12, "Billing Timing": 14, "Renewal": 10, "Term": 8}
    columns = []
    for j, name in enumerate(header):
        fmt = f_date if "Date" in name or name == "Billing Start" else f_money if name in ("Amount", "SSP") \
            else None
        columns.append({"header": name, **({"format": fmt} if fmt else {})})
        ws.set_column(j, j, widths.get(name, 13 if fmt is f_date else 12), fmt)
        if name in HEADER_NOTES:
            ws.write_comment(0, j, HEADER_NOTES[name], {"x_scale": 2.2, "y_scale": 1.4})
    last_row = max(len(body), 1)
    ws.add_table(0, 0, last_row, len(header) - 1, {
        "name": "Contracts", "columns": columns, "style": "Table Style Medium 2",
        **({"data": [list(row) for row in body]} if body else {})})
    choices = {"Recognition": RECOGNITION_NAMES, "Billing": BILLING_NAMES, "Billing Timing": TIMING_NAMES}
    for j, name in enumerate(header):
        if name in choices:
            ws.data_validation(1, j, 1_048_575, j, {
                "validate": "list", "source": list(choices[name]), "error_title": name,
                "error_message": f"{name} is one of: {', '.join(choices[name])}"})
    _validate_column(ws, header, "Renewal", {
        "validate": "list", "source": list(RENEWAL_NAMES), "error_title": "Renewal",
        "error_message": "Renewal is auto (an evergreen line: End Date blank) or blank / none."})
    _validate_column(ws, header, "Term", _term_rule("(blank: the Billing interval)."))
    ws.freeze_panes(1, 0)

    # --- Events: actual invoices and progress
    ev = wb.add_worksheet(EVENTS)
    events = _with_columns(events, TEMPLATE_EVENT_COLUMNS)
    ev_header, ev_body = events[0], events[1:]
    ev_columns = []
    for j, name in enumerate(ev_header):
        fmt = {"Date": f_date, "End Date": f_date, "Amount": f_money, "Percent": f_pct}.get(name)
        ev_columns.append({"header": name, **({"format": fmt} if fmt else {})})
        ev.set_column(j, j, {"Event": 18, "Contract ID": 12, "Source ID": 16, "Quantity": 12, "Term": 8}.get(name, 13),
                      fmt)
        if name in EVENT_NOTES:
            ev.write_comment(0, j, EVENT_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    ev.add_table(0, 0, max(len(ev_body), 1), len(ev_header) - 1, {
        "name": "Events", "columns": ev_columns, "style": "Table Style Medium 2",
        **({"data": [list(r) for r in ev_body]} if ev_body else {})})
    _validate_column(ev, ev_header, "Event", {
        "validate": "list", "source": list(EVENT_NAMES), "error_title": "Event",
        "error_message": f"Event is one of: {', '.join(EVENT_NAMES)}"})
    _validate_column(ev, ev_header, "Treatment", {
        "validate": "list", "source": list(TREATMENT_NAMES), "error_title": "Treatment",
        "error_message": f"Treatment is one of: {', '.join(TREATMENT_NAMES)}"})
    _validate_column(ev, ev_header, "Bill", {
        "validate": "list", "source": ["yes", "no"], "error_title": "Bill",
        "error_message": "Bill is yes or no (adjust events only)"})
    _validate_column(ev, ev_header, "Quantity", {
        "validate": "decimal", "criteria": ">=", "value": 0, "error_title": "Quantity",
        "error_message": "Quantity is the units used on Date: a number, 0 or more (usage events only)."})
    _validate_column(ev, ev_header, "Term", _term_rule("(modify on an evergreen line only; blank: unchanged)."))
    ev.freeze_panes(1, 0)

    # --- FX Rates: units of the reporting currency (Settings Currency) per unit, per currency and month
    fx = wb.add_worksheet(FX)
    fx_columns = FX_COLUMNS + ["Rate Type"]  # average | closing (blank: average), read by FX method IFRIC 22
    fx_body = [list(r) + [None] * (len(fx_columns) - len(r)) for r in (fx_rows or [])[1:]]
    for j, name in enumerate(fx_columns):
        fx.set_column(j, j, 14, f_date if name == "Month" else None)
    fx.add_table(0, 0, max(len(fx_body), 1), len(fx_columns) - 1, {
        "name": "FX", "columns": [{"header": n} for n in fx_columns], "style": "Table Style Medium 2",
        **({"data": fx_body} if fx_body else {})})
    fx.data_validation(1, 3, 1_048_575, 3, {"validate": "list", "source": ["average", "closing"],
                                            "error_title": "Rate Type", "error_message": "average or closing"})
    fx.write_comment(0, 3, "average (blank) or closing: the closing rate remeasures the contract asset at the "
                           "month's end when Settings FX method is IFRIC 22 (docs/fx.md).", {"x_scale": 2.0})
    fx.write_comment(0, 0, "ISO 4217 code of a currency the Contracts use besides the Settings Currency.",
                     {"x_scale": 2.0})
    fx.write_comment(0, 1, "The month (2026-03, or any date in it): a line converts at the rate of its Booking "
                           "Date's month.", {"x_scale": 2.0})
    fx.write_comment(0, 2, "Units of the reporting currency (Settings Currency) per unit of Currency, e.g. 1.0843 "
                           "USD per EUR.", {"x_scale": 2.0})
    fx.freeze_panes(1, 0)

    # --- Settings
    st = wb.add_worksheet(SETTINGS_SHEET)
    st.set_column(0, 0, 30)
    st.set_column(1, 1, 28)
    st.set_column(2, 2, 100, f_wrap)
    st.write_row(0, 0, ["Setting", "Value", "Meaning"], f_head)
    for i, (name, default, meaning) in enumerate(SETTINGS, start=1):
        value = settings_values.get(name, default)
        st.write_string(i, 0, name)
        if isinstance(value, (dt.date, dt.datetime)):
            st.write_datetime(i, 1, value, f_date)
        elif isinstance(value, (int, float)):
            st.write_number(i, 1, value)
        elif value is not None:
            st.write_string(i, 1, str(value))
        st.write_string(i, 2, meaning)
        if len(meaning) > 100:  # wrapped meaning: give the row room (spreadsheets do not re-measure on load)
            st.set_row(i, 15 * (1 + len(meaning) // 100))
        validation = {
            # a dropdown of the three, but "monthly" typed by hand is kept (Settings read it as month)
            "Period": {"validate": "list", "source": ["month", "quarter", "year"], "error_type": "information"},
            "Fiscal year start month": {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 12},
            "Detail line limit": {"validate": "integer", "criteria": "between", "minimum": 1,
                                  "maximum": 1_000_000},
            "As-of date": {"validate": "date", "criteria": "between", "minimum": dt.date(1900, 1, 1),
                           "maximum": dt.date(9999, 12, 31)},
            "Currency": {"validate": "length", "criteria": "==", "value": 3},
            "Invoices posted by": {"validate": "list", "source": list(MODES)},
            "Journal detail": {"validate": "list", "source": list(DETAILS)},
            "ARR basis": {"validate": "list", "source": list(ARR_BASES)},
            "Renewal grace days": {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 3660},
            "FX method": {"validate": "list", "source": list(FX_METHODS)},
        }.get(name)
        if validation:
            st.data_validation(i, 1, i, 1, {**validation, "error_message": meaning[:255]})
    st.freeze_panes(1, 0)

    # --- Accounts: an optional revenue account per Product for the journal (unmapped: Settings Revenue account)
    ac = wb.add_worksheet(ACCOUNTS)
    ac.set_column(0, 0, 24)
    ac.set_column(1, 1, 40)
    ac.add_table(0, 0, 1, 1, {"name": "Accounts", "columns": [{"header": "Product"}, {"header": "Revenue Account"}],
                              "style": "Table Style Medium 2"})
    ac.write_comment(0, 0, "A Product value of the Contracts tab (case does not matter). Products not listed post "
                           "to the Settings Revenue account.", {"x_scale": 2.0})
    ac.write_comment(0, 1, "The GL revenue account of that Product's revenue in the Journal Entries: code then "
                           "name, e.g. 4100 Subscription Revenue.", {"x_scale": 2.0})
    ac.data_validation(1, 1, 1_048_575, 1, {"validate": "length", "criteria": "between", "minimum": 1,
                                            "maximum": 255, "error_message": "A GL account: code then name."})
    ac.freeze_panes(1, 0)
    _plan_tab(wb, plan_rows, f_date, f_money)

    _forecast_input_tabs(wb, pipeline, assumptions, f_head, f_date, f_money, f_pct)
    _opening_tab(wb, f_money)
    _mapping_tab(wb, mapping_rows, f_head)
    _tiers_tab(wb, f_money)  # an input tab: with the others, before the report tabs

    # --- report tabs (filled by the refresh)
    sheets = {}
    for name in GENERATED_SHEETS[1:]:
        sheets[name] = wb.add_worksheet(name)
    # the record tabs, empty (the refresh writes their headers): laid out here so that they get a code name and a
    # document module in the VBA project like every other tab
    from .audit_trail import AUDIT_TABS, SNAPSHOT
    for name in AUDIT_TABS:
        record = wb.add_worksheet(name)
        if name == SNAPSHOT:
            record.very_hidden()
    summary = sheets["Summary"]
    summary.set_column(0, 0, 46)
    summary.set_column(1, 40, 17)
    if macros:
        vba_project.add_refresh_button(wb, summary, "F2", width=150, height=32)
    periods = 12
    col = wb.add_chart({"type": "column"})
    for i, name in enumerate(["Bookings", "Billings", "Revenue"]):
        col.add_series({"name": ["Summary", 40 + i, 0], "categories": ["Summary", 39, 1, 39, periods],
                        "values": ["Summary", 40 + i, 1, 40 + i, periods]})
    col.set_title({"name": "Bookings, billings and revenue by period"})
    col.set_legend({"position": "bottom"})
    col.set_y_axis({"num_format": "#,##0"})
    summary.insert_chart("A19", col, {"x_scale": 1.25, "y_scale": 1.35})
    line = wb.add_chart({"type": "line"})
    for i, name in enumerate(["Backlog", "Deferred revenue"]):
        line.add_series({"name": ["Summary", 43 + i, 0], "categories": ["Summary", 39, 1, 39, periods],
                         "values": ["Summary", 43 + i, 1, 43 + i, periods], "marker": {"type": "circle"},
                         "smooth": False})
    line.set_title({"name": "Backlog and deferred revenue at period end"})
    line.set_legend({"position": "bottom"})
    line.set_y_axis({"num_format": "#,##0"})
    summary.insert_chart("D19", line, {"x_scale": 1.25, "y_scale": 1.35})
    _metrics_chart(wb, sheets["Metrics"], periods)
    for name in ("Revenue", "Billings"):
        sheets[name].set_column(0, 1, 20)
        sheets[name].set_column(2, 60, 13)
        sheets[name].freeze_panes(4, 2)
    for name in ("Bookings", "Backlog", "Deferred Revenue", "Allocation", "Changes", "Journal Entries",
                 "Exceptions", "Run Info"):
        sheets[name].set_column(0, 0, 30 if name != "Exceptions" else 22)
        sheets[name].set_column(1, 12, 18)
    # By Dimension: customer and dimension values in A (long names), then periods and Total
    sheets["By Dimension"].set_column(0, 0, 38)
    sheets["By Dimension"].set_column(1, 60, 14)
    sheets["By Dimension"].freeze_panes(0, 1)
    sheets["Deferred Revenue"].set_column(0, 0, 38)  # the balances by dimension below the rollforward
    sheets["Journal Entries"].set_column(0, 0, 18)
    sheets["Journal Entries"].set_column(1, 1, 13)
    sheets["Journal Entries"].set_column(2, 3, 12)
    sheets["Journal Entries"].set_column(4, 4, 36)
    sheets["Journal Entries"].set_column(7, 7, 10)
    sheets["Journal Entries"].set_column(8, 8, 64)
    sheets["Exceptions"].set_column(4, 4, 90)
    sheets["Run Info"].set_column(1, 1, 70)
    _forecast_charts(wb, sheets[FORECAST_SHEET])
    _actual_vs_plan_charts(wb, sheets["Actual vs Plan"])
    for name, ws_ in sheets.items():
        ws_.set_landscape()
        ws_.fit_to_pages(1, 0)
    if macros:
        vba_project.attach_vba_project(wb)
    wb.close()



PIPELINE_NOTES = {
    "Deal": "Required. The deal's ID (one deal per row; a deal of several lines repeats its ID with a Line ID).",
    "Customer": "Required. A renewal deal names the customer (and Product) of the line it renews.",
    "Expected Close": "Required. The day the deal is expected to be signed: its probable Amount is booked that day.",
    "Start Date": "Required. First day of service.",
    "End Date": "Last day of service (required unless Recognition is point in time).",
    "Amount": "Required. The deal's price over its term; the forecast counts Amount x Probability.",
    "Probability": "Required. 0% to 100%: the share of the Amount the forecast counts.",
    "Billing": "As on Contracts: upfront, monthly, quarterly, semiannual or annual.",
    "Recognition": "As on Contracts: monthly, daily, point in time...",
    "Type": "new (default), expansion or renewal: a renewal deal replaces the assumed renewal of the line of the "
            "same Customer and Product ending nearest its Start Date.",
}
ASSUMPTION_NOTES = {
    "Segment": "Optional dimension column (any Contracts column, e.g. Segment or Region): one row per value. A row "
               "with it blank is the default for every other value; without a default those lines do not renew.",
    "Renewal Rate": "0% to 100%: the share of the ARR at End Date that renews.",
    "Uplift": "Price change at renewal, e.g. 5% (blank: 0%). Renewed amount = ARR x term / 12 x rate x "
              "(1 + uplift), rounded to the cent.",
}


def _forecast_input_tabs(wb, pipeline, assumptions, f_head, f_date, f_money, f_pct) -> None:
    """Pipeline and Forecast Assumptions: optional inputs of the Forecast tab, as Excel Tables with validation."""
    from ..sample import ASSUMPTION_COLUMNS, PIPELINE_COLUMNS
    pipeline = pipeline or [list(PIPELINE_COLUMNS)]
    pl = wb.add_worksheet(PIPELINE)
    header, body = pipeline[0], [list(r) for r in pipeline[1:]]
    columns = []
    for j, name in enumerate(header):
        fmt = f_date if "Date" in name or name == "Expected Close" else f_money if name == "Amount" else \
            f_pct if name == "Probability" else None
        columns.append({"header": name, **({"format": fmt} if fmt else {})})
        pl.set_column(j, j, {"Customer": 22, "Product": 22, "Deal": 10}.get(name, 13), fmt)
        if name in PIPELINE_NOTES:
            pl.write_comment(0, j, PIPELINE_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    pl.add_table(0, 0, max(len(body), 1), len(header) - 1, {
        "name": "Pipeline", "columns": columns, "style": "Table Style Medium 2", **({"data": body} if body else {})})
    rules = {
        "Probability": {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1,
                        "error_message": "Probability is from 0% to 100%."},
        "Type": {"validate": "list", "source": list(DEAL_TYPES), "error_message": "Type is new, renewal or expansion."},
        "Billing": {"validate": "list", "source": list(BILLING_NAMES)},
        "Recognition": {"validate": "list", "source": list(RECOGNITION_NAMES)},
        **{name: {"validate": "date", "criteria": "between", "minimum": dt.date(1900, 1, 1),
                  "maximum": dt.date(9999, 12, 31), "error_message": f"{name} is a date."}
           for name in ("Expected Close", "Start Date", "End Date")},
    }
    for j, name in enumerate(header):
        if name in rules:
            pl.data_validation(1, j, 1_048_575, j, {**rules[name], "error_title": name})
    pl.freeze_panes(1, 0)

    assumptions = assumptions or [list(ASSUMPTION_COLUMNS)]
    fa = wb.add_worksheet(ASSUMPTIONS)
    header, body = assumptions[0], [list(r) for r in assumptions[1:]]
    fa.set_column(0, 0, 22)
    fa.set_column(1, len(header) - 1, 14, f_pct)
    fa.add_table(0, 0, max(len(body), 1), len(header) - 1, {
        "name": "ForecastAssumptions", "style": "Table Style Medium 2",
        "columns": [{"header": n, **({"format": f_pct} if n != header[0] else {})} for n in header],
        **({"data": body} if body else {})})
    for j, name in enumerate(header):
        if name in ASSUMPTION_NOTES:
            fa.write_comment(0, j, ASSUMPTION_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    fa.data_validation(1, 1, 1_048_575, 1, {"validate": "decimal", "criteria": "between", "minimum": 0,
                                            "maximum": 1, "error_title": "Renewal Rate",
                                            "error_message": "Renewal Rate is from 0% to 100%."})
    fa.data_validation(1, 2, 1_048_575, 2, {"validate": "decimal", "criteria": ">", "value": -1,
                                            "error_title": "Uplift", "error_message": "Uplift is above -100%."})
    fa.freeze_panes(1, 0)


OPENING_NOTES = {
    "Contract ID": "A contract line live at the Settings Cutover Date, moved from another system (docs/cutover.md).",
    "Line ID": "The line's Line ID on the Contracts tab (blank when the line has none).",
    "Recognized to Date": "Revenue the old system recognized on the line up to the end of the cutover day (>= 0, "
                          "at most the line's price). The rest is recognized from the next day by its method.",
    "Billed to Date": "What the old system invoiced on the line up to the end of the cutover day (>= 0, at most "
                      "its Amount). The invoices scheduled after it share the rest.",
}


def _opening_tab(wb, f_money) -> None:
    """Opening Balances: an optional input (no sample rows), legacy figures at the Settings Cutover Date."""
    from ..engine.cutover import OPENING_COLUMNS
    ob = wb.add_worksheet(OPENING)
    ob.set_column(0, 1, 16)
    ob.set_column(2, 3, 18, f_money)
    ob.add_table(0, 0, 1, len(OPENING_COLUMNS) - 1, {
        "name": "OpeningBalances", "style": "Table Style Medium 2",
        "columns": [{"header": n, **({"format": f_money} if "to Date" in n else {})} for n in OPENING_COLUMNS]})
    for j, name in enumerate(OPENING_COLUMNS):
        ob.write_comment(0, j, OPENING_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    for j in (2, 3):
        ob.data_validation(1, j, 1_048_575, j, {"validate": "decimal", "criteria": ">=", "value": 0,
                                                "error_title": OPENING_COLUMNS[j],
                                                "error_message": f"{OPENING_COLUMNS[j]} is an amount >= 0."})
    ob.freeze_panes(1, 0)


MAPPING_NOTES = {
    "Field": "A Contracts field (or an Events field with Target events), or one of Target, Date Order, Keep, "
             "Dimension. The list at the right holds every name.",
    "Source": "The export's column heading(s) that feed the field: A | B (the first the file has, or the first "
              "non-blank with Kind first), A + B (Kind sum), Start | Term (Kind term end).",
    "Kind": "How the Source becomes the field: see the list at the right (blank: column, or constant when Source "
            "is blank).",
    "Value": "The constant (Kind constant), N days or months (add days / add months), the value of Target and "
             "Date Order, the values kept by Keep (| between them).",
}
# What each Kind and special Field does, beside the Table (the tab documents itself)
MAPPING_KIND_NOTES = [
    ("column", "Source: an export heading (A | B: the first of them the file has)."),
    ("constant", "Value: a fixed value (invoice, monthly, annual); Source blank."),
    ("sum", "Source: A + B: the amounts added, a blank cell counts as 0."),
    ("first", "Source: A | B: the first non-blank cell of the row."),
    ("add days", "Source: a date column; Value: N days added (may be negative)."),
    ("add months", "Source: a date column; Value: N months added."),
    ("term end", "Source: Start | Term: End Date = start + Term months - 1 day (12, 12 months, P1Y)."),
    ("not", "Keep rows only: drop the rows whose Source is one of the Values instead."),
]
MAPPING_FIELD_NOTES = [
    ("Target", "Value: contracts (the default) or events: the tab the rows go to."),
    ("Date Order", "Value: ISO (the default), MDY (03/04/2025 is March 4) or DMY: how text dates are read."),
    ("Keep", "Source: a column; Value: the values kept (Stage = Closed Won), | between them."),
    ("Dimension", "Source: a column that becomes a dimension. Every column not named is dropped."),
]
MAPPING_USE = ("bbb-xl import FILE --into THIS BOOK: this tab, when neither --profile nor --mapping is given.",
               "bbb-xl import FILE --into ANOTHER BOOK --mapping THIS BOOK: this tab, for another book.",
               "The rows shipped are the salesforce profile (docs/imports.md): replace them with your own.")
MAPPING_SPECIAL_FIELDS = ("Target", "Date Order", "Keep", "Dimension")


def _mapping_tab(wb, mapping_rows, f_head) -> None:
    """The Mapping input tab: how `bbb-xl import` reads an export (imports.mapping), as an Excel Table Field |
    Source | Kind | Value with the Kind list and the Field list as validation, and the meaning of each Kind and
    special Field beside it. Only columns A:D are read."""
    ws = wb.add_worksheet(MAPPING_TAB)
    rows = mapping_rows or [list(MAPPING_COLUMNS)]
    body = [list(r) for r in rows[1:]]
    for j, width in enumerate((16, 46, 12, 14, 3, 14, 88, 3, 16)):
        ws.set_column(j, j, width)
    ws.add_table(0, 0, max(len(body), 1), 3, {
        "name": "Mapping", "style": "Table Style Medium 2", "columns": [{"header": n} for n in MAPPING_COLUMNS],
        **({"data": body} if body else {})})
    for j, name in enumerate(MAPPING_COLUMNS):
        ws.write_comment(0, j, MAPPING_NOTES[name], {"x_scale": 2.2, "y_scale": 1.4})
    kinds = list(KINDS) + ["not"]
    ws.data_validation(1, 2, 1_048_575, 2, {
        "validate": "list", "source": kinds, "error_title": "Kind",
        "error_message": f"Kind is one of: {', '.join(kinds)} (not: Keep rows only)."})
    # Field: any name of the list in column I (a warning only: case and spacing of a typed name do not matter)
    fields = list(dict.fromkeys(CONTRACT_FIELDS + EVENT_FIELDS)) + list(MAPPING_SPECIAL_FIELDS)
    ws.write(0, 8, "Fields", f_head)
    for i, name in enumerate(fields, start=1):
        ws.write_string(i, 8, name)
    ws.data_validation(1, 0, 1_048_575, 0, {
        "validate": "list", "source": f"=$I$2:$I${len(fields) + 1}", "error_type": "warning",
        "error_title": "Field", "error_message": "Field is a Contracts or Events field or Target, Date Order, Keep, "
                                                 "Dimension (the list in column I)."})
    ws.write_row(0, 5, ["Kind", "What the row does"], f_head)
    for i, (kind, meaning) in enumerate(MAPPING_KIND_NOTES, start=1):
        ws.write_row(i, 5, [kind, meaning])
    top = len(MAPPING_KIND_NOTES) + 2
    ws.write_row(top, 5, ["Field", "Special rows"], f_head)
    for i, (name, meaning) in enumerate(MAPPING_FIELD_NOTES, start=top + 1):
        ws.write_row(i, 5, [name, meaning])
    use = top + len(MAPPING_FIELD_NOTES) + 2
    ws.write(use, 5, "Use", f_head)
    for i, line in enumerate(MAPPING_USE):  # one line a row: no row taller than the Table's
        ws.write(use + i, 6, line)
    ws.freeze_panes(1, 0)


def _forecast_charts(wb, ws) -> None:
    """A stacked column chart of the layers of each metric, read from the Forecast tab's fixed blocks."""
    ws.set_column(0, 0, 16)
    ws.set_column(1, CHART_PERIODS + 1, 13)
    ws.freeze_panes(0, 1)
    anchors = ["A", "H", "A", "H"]
    for k, (metric, row) in enumerate(FORECAST_BLOCKS):
        chart = wb.add_chart({"type": "column", "subtype": "stacked"})
        top = row - 1  # 0-based header row
        for i in range(3):
            chart.add_series({"name": [FORECAST_SHEET, top + 1 + i, 0],
                              "categories": [FORECAST_SHEET, top, 1, top, CHART_PERIODS],
                              "values": [FORECAST_SHEET, top + 1 + i, 1, top + 1 + i, CHART_PERIODS],
                              "gap": 60})
        name = {"arr": "ARR at period end"}.get(metric, metric.capitalize())
        chart.set_title({"name": f"{name}: contracted, renewals, pipeline"})
        chart.set_legend({"position": "bottom"})
        chart.set_y_axis({"num_format": "#,##0"})
        ws.insert_chart(f"{anchors[k]}{CHART_ROW + 1 + 22 * (k // 2)}", chart, {"x_scale": 1.1, "y_scale": 1.45})


PLAN_NOTES = {
    "Version": "Required. The plan's name (Budget 2025, Forecast Q2). Several versions may share the tab: the "
               "Settings row Plan version chooses the one Actual vs Plan shows.",
    "Month": "Required. The month planned: a date in it (shown 2025-03) or the text 2025-03. One row per month.",
    "Metric": "Required. revenue, billings, bookings (the month's amount) or arr, backlog, deferred (at the "
              "month's end). Quarters and years add up flow months and take a balance's last month.",
    "Dimension": "Optional. A Contracts column (Region) when the row plans one of its values; blank: the whole "
                 "book.",
    "Value": "Optional, with Dimension: the value planned (EMEA).",
    "Amount": "Required. The planned amount in the reporting currency (Settings Currency).",
}


def _plan_tab(wb, plan_rows, f_date, f_money) -> None:
    """The Plan input tab: an Excel Table (Version, Month, Metric, Dimension, Value, Amount) with notes and
    validation (Metric from the list, Month a date, Amount a number)."""
    from ..engine.plan import PLAN_METRICS
    ws = wb.add_worksheet(PLAN)
    header = PLAN_COLUMNS
    body = [list(r) for r in (plan_rows or [])[1:]]
    f_month = wb.add_format({"num_format": "yyyy-mm"})
    formats = {"Month": f_month, "Amount": f_money}
    for j, name in enumerate(header):
        ws.set_column(j, j, {"Version": 18, "Metric": 12, "Dimension": 14, "Value": 14, "Amount": 16}.get(name, 12),
                      formats.get(name))
        ws.write_comment(0, j, PLAN_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    ws.add_table(0, 0, max(len(body), 1), len(header) - 1, {
        "name": "Plan", "columns": [{"header": n, **({"format": formats[n]} if n in formats else {})}
                                    for n in header],
        "style": "Table Style Medium 2", **({"data": body} if body else {})})
    col = {n: j for j, n in enumerate(header)}
    ws.data_validation(1, col["Metric"], 1_048_575, col["Metric"], {
        "validate": "list", "source": list(PLAN_METRICS), "error_title": "Metric",
        "error_message": f"Metric is one of: {', '.join(PLAN_METRICS)}"})
    ws.data_validation(1, col["Month"], 1_048_575, col["Month"], {
        "validate": "date", "criteria": "between", "minimum": dt.date(1900, 1, 1), "maximum": dt.date(9999, 12, 31),
        "error_title": "Month", "error_type": "warning",
        "error_message": "A month: a date in it (2025-03-01, shown 2025-03); the text 2025-03 is read too."})
    ws.data_validation(1, col["Amount"], 1_048_575, col["Amount"], {
        "validate": "decimal", "criteria": "between", "minimum": -1e13, "maximum": 1e13, "error_title": "Amount",
        "error_message": "The planned amount: a number."})
    ws.freeze_panes(1, 0)


def _actual_vs_plan_charts(wb, ws) -> None:
    """One chart under each metric's table: columns actual and forecast (contracted), the plan as a line. The
    refresh points them at the report's periods; here they read 12."""
    from ..engine.plan import FORECAST, PLAN_METRICS
    from ..reports.actual_vs_plan import CHART_OFFSET, TITLES, block_row, chart_series_rows
    name = "Actual vs Plan"
    ws.set_column(0, 0, 28)
    ws.set_column(1, 40, 14)
    periods = 12
    for k, metric in enumerate(PLAN_METRICS):
        top = block_row(k)
        rows = chart_series_rows(k)
        labels = [name, top, 1, top, periods]  # header row (0-based top + 1 - 1)
        bars = wb.add_chart({"type": "column", "subtype": "stacked"})
        for series, colour in (("Actual", "#4472C4"), (FORECAST, "#A9C4EB")):
            r = rows[series] - 1
            bars.add_series({"name": [name, r, 0], "categories": labels, "values": [name, r, 1, r, periods],
                             "fill": {"color": colour}, "gap": 60})
        line = wb.add_chart({"type": "line"})
        r = rows["Plan"] - 1
        line.add_series({"name": [name, r, 0], "categories": labels, "values": [name, r, 1, r, periods],
                         "line": {"color": "#C00000", "width": 2.25}, "marker": {"type": "diamond", "size": 6,
                         "fill": {"color": "#C00000"}, "border": {"color": "#C00000"}}, "smooth": False})
        bars.combine(line)
        bars.set_title({"name": f"{TITLES[metric]}: actual vs plan"})
        bars.set_legend({"position": "bottom"})
        bars.set_y_axis({"num_format": "#,##0"})
        ws.insert_chart(top + CHART_OFFSET - 1, 1, bars, {"x_scale": 1.9, "y_scale": 1.2})


def _metrics_chart(wb, ws, periods: int) -> None:
    """The ARR bridge chart of the Metrics tab: stacked columns over the chart data rows (reports.metrics), the
    Base series without fill or line so each period's net movement floats where the previous closing ARR ends.
    The refresh points it at the report's periods."""
    ws.set_column(0, 0, 46)
    ws.set_column(1, 60, 15)
    chart = wb.add_chart({"type": "column", "subtype": "stacked"})
    colors = {"ARR": "#4472C4", "Increase": "#70AD47", "Decrease": "#C00000"}
    last = periods + 2  # Opening, the periods, Closing
    for i, name in enumerate(CHART_SERIES):
        row = CHART_LABEL_ROW + i  # 0-based: the series rows under the label row
        look = {"fill": {"none": True}, "border": {"none": True}} if name == "Base" else \
            {"fill": {"color": colors[name]}, "border": {"none": True}}
        chart.add_series({"name": ["Metrics", row, 0], "categories": ["Metrics", CHART_LABEL_ROW - 1, 1,
                                                                      CHART_LABEL_ROW - 1, last],
                          "values": ["Metrics", row, 1, row, last], "gap": 40, **look})
    chart.set_title({"name": "ARR bridge: opening ARR, net movement by period, closing ARR"})
    chart.set_legend({"position": "bottom", "delete_series": [0]})
    chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_x_axis({"num_font": {"rotation": -45}})
    ws.insert_chart(f"A{CHART_ANCHOR_ROW}", chart, {"x_scale": 2.0, "y_scale": 1.4})


TIERS_NOTES = {
    "Contract ID": "The contract whose usage lines these tiers price (blank when the row gives a Product).",
    "Product": "Or: the Product whose usage lines these tiers price (a contract's own tiers come first).",
    "From Quantity": "The first unit the tier prices, counted from 1 within each billing period after the Included "
                     "Quantity: 0 (or 1) for the first tier, then ascending, e.g. 10001 for units above 10,000.",
    "Unit Price": "Price per unit in the tier (0 or more; fractions of a cent allowed).",
    "Mode": "graduated (default): each unit at its tier's price; volume: all the period's units at the price of the "
            "tier the period's quantity reaches. One Mode per contract or product.",
}


def _tiers_tab(wb, f_money) -> None:
    """Price Tiers: an optional input (no sample rows) for usage lines (engine.usage, docs/asc606.md)."""
    from ..engine.usage import TIER_COLUMNS, TIER_MODE_NAMES
    from .workflow import TIERS
    names = list(TIER_COLUMNS.values())
    pt = wb.add_worksheet(TIERS)
    pt.set_column(0, 1, 16)
    pt.set_column(2, 4, 14)
    pt.add_table(0, 0, 1, len(names) - 1, {"name": "PriceTiers", "style": "Table Style Medium 2",
                                            "columns": [{"header": n} for n in names]})
    for j, name in enumerate(names):
        pt.write_comment(0, j, TIERS_NOTES[name], {"x_scale": 2.2, "y_scale": 1.2})
    for j in (2, 3):
        pt.data_validation(1, j, 1_048_575, j, {"validate": "decimal", "criteria": ">=", "value": 0,
                                                "error_title": names[j], "error_message": f"{names[j]} is >= 0."})
    pt.data_validation(1, 4, 1_048_575, 4, {"validate": "list", "source": list(TIER_MODE_NAMES)})
    pt.freeze_panes(1, 0)
