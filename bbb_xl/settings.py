"""Workbook settings: parsed and validated like any input, each problem located at its cell."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .core.dates import iso, parse_date
from .core.errors import ERROR, Problem
from .core.options import DEFAULT as DEFAULT_OPTIONS, ParseOptions, normalize_date_order, time_zone
from .core.periods import Calendar, parse_when
from .engine.alerts import DEFAULTS as ALERT_DEFAULTS, threshold as alert_threshold
from .engine.journal import DETAILS as JOURNAL_DETAILS, MODES as INVOICES_POSTED_BY
from .engine.fx_ifric22 import normalize_fx_method
from .engine.metrics import ALLOCATED, ARR_BASES
from .engine.table import excel_error, is_blank, normalize_header

def _alert_default(rule):
    value = ALERT_DEFAULTS[rule]
    return f"{value * 100}%" if not isinstance(value, int) else value


_ALERT_MEANINGS = {
    **{f"{m} drop": f"Alerts tab: {m} down more than this against the previous period (off: no alert)."
       for m in ("bookings", "billings", "revenue")},
    **{f"{m} drop vs a year earlier": f"Alerts tab: {m} down more than this against the same period a year earlier."
       for m in ("bookings", "billings", "revenue")},
    "backlog outgrows revenue": "Alerts tab: periods in a row with backlog growth (%) above revenue growth (%).",
    "backlog shrinking": "Alerts tab: periods in a row with the backlog falling.",
    "book-to-bill below 1": "Alerts tab: periods in a row with bookings below billings.",
    "revenue concentration": "Alerts tab: a customer's share of the trailing-12-month revenue above this.",
    "ARR concentration": "Alerts tab: a customer's share of the ARR at the as-of date above this.",
    "renewals due": "Alerts tab: recurring lines ending within this many days after the as-of date, with no "
                    "renewal booked.",
    "contract asset age": "Alerts tab: days a contract has had revenue ahead of billing (a contract asset).",
    "negative revenue": "Alerts tab: a period whose revenue is below zero (0 = on, off = no alert).",
}


# (name, default, meaning) in the order of the Settings tab
SETTINGS = [
    ("Company name", "Example Co", "Shown in the title of every report tab."),
    ("Currency", "USD", "Reporting currency, ISO 4217 (USD, EUR, GBP...): of the Amounts, or, for lines with "
                        "another Currency, what the FX Rates tab converts them to. Shown beside figures."),
    ("As-of date", None, "Summary figures are for the period containing this day (to date); balances at its end."),
    ("Report start", None, "First period of the report tabs: 2025-01, 2025-Q1, FY2025 or a date. "
                           "Blank: the start of the fiscal year of the as-of date."),
    ("Report end", None, "Last period of the report tabs (same forms). Blank: the end of that fiscal year."),
    ("Period", "month", "Columns of the report tabs: month, quarter or year (monthly, quarterly, yearly and "
                        "annual are read the same)."),
    ("Fiscal year start month", 1, "1 = January (calendar years). Fiscal years are named by the calendar year "
                                   "in which they end: FY2025, FY2025-Q1."),
    ("Accounts receivable account", "1200 Accounts Receivable", "GL account debited by invoices."),
    ("Contract asset account", "1250 Contract Asset (unbilled receivable)", "GL account of the contract asset "
                                                                           "(unbilled receivable): revenue "
                                                                           "recognized ahead of billing."),
    ("Deferred revenue account", "2400 Deferred Revenue", "GL account of the contract liability: billed ahead "
                                                          "of revenue."),
    ("Revenue account", "4000 Revenue", "GL account credited by recognized revenue (the Accounts tab can give "
                                        "another per Product). '4000 Revenue': code 4000, name Revenue."),
    ("Invoices posted by", "bbb_xl", "Who posts invoices to the GL. bbb_xl: the journal has them (Dr AR). billing "
                                     "system to deferred revenue: the ERP already posted Dr AR / Cr Deferred "
                                     "revenue; the journal posts the release and the contract asset reclass. "
                                     "billing system to revenue: the ERP credited revenue; the journal posts the "
                                     "true-up. Every mode gives the same balances."),
    ("Journal detail", "period", "period: one compound journal entry per period; contract: one per period and "
                                 "contract, with Contract ID and Customer on each line."),
    ("Detail line limit", 20000, "Most contract lines shown line by line in Revenue and Billings; above it, one "
                                 "row per contract there and the line-level schedule in a CSV beside the workbook."),
    ("Decimal separator", ".", "Of amounts typed as text: . (1,500.25) or , (1.500,25). Amounts in number cells "
                               "are numbers either way."),
    ("Date order", "ISO", "Of dates typed as text: ISO (2025-03-15 only), MDY (03/15/2025 too) or DMY (15/03/2025 "
                          "too). Date cells are dates either way."),
    ("Time zone", "UTC", "IANA time zone (UTC, America/New_York, Europe/Paris...): a date-time typed with Z or an "
                         "offset (2025-01-16T02:00:00Z) counts on its date in this zone."),
    ("Dimensions", None, "Columns shown by dimension on By Dimension, Bookings and Deferred Revenue, comma-separated "
                         "(Product, Region). Blank: every text column except numeric ones and, in books of 20 lines "
                         "or more, those with more than min(200, half the lines) distinct values. Customer is "
                         "always shown. Run Info lists the columns used and skipped."),
    *[(f"Alert: {rule}", _alert_default(rule), _ALERT_MEANINGS[rule]) for rule in ALERT_DEFAULTS],
    ("Forecast horizon (months)", 12, "Forecast tab: months after the as-of date to forecast; lines ending inside "
                                      "them renew at the Forecast Assumptions rates (docs/forecast.md)."),
    ("Plan version", None, "Actual vs Plan tab: the Version of the Plan tab to compare with (Budget 2025). Blank: "
                           "the only version; a plan with several needs one named here."),
    ("Delivery load by", None, "Backlog tab, delivery load: a Contracts column (Region, Segment...) to show the "
                               "revenue still to recognize by, besides Product. Blank: by Product only."),
    ("ARR basis", ALLOCATED, "Price behind the ARR of the Metrics tab and the Summary tiles: allocated (the "
                             "Allocated amount where SSPs apply) or contract price (the Amount before allocation). "
                             "The BBB_ formulas always use allocated."),
    ("Renewal grace days", 0, "Metrics tab: a customer whose ARR returns within this many days after dropping to 0 "
                              "is treated as never dropped (no churn, no reactivation; its ARR held in the gap)."),
    ("Cutover Date", None, "Moving from another system: the day the Opening Balances tab's figures are at (end of "
                           "day). Blank: none, every line computed from its start (docs/cutover.md)."),
    ("Refund liability account", "2450 Refund Liability", "GL account of the refund liability (ASC 606-10-32-10): "
                                                          "billed above a price an adjust event lowered, with no "
                                                          "credit note."),
    ("FX method", "booking rate", "Lines in another currency: booking rate (each line at its Booking Date month's "
                                  "average rate: a simplification) or IFRIC 22 (revenue at the rate of the invoice "
                                  "that paid in advance, else of its month; contract asset at closing rates; "
                                  "docs/fx.md)."),
    ("FX gain/loss account", "7100 Foreign Exchange Gain/Loss", "GL account of the FX gain or loss on the contract "
                                                                "asset (FX method IFRIC 22)."),
]
SETTING_NAMES = [name for name, _, _ in SETTINGS]
SETTING_SYNONYMS = {"Unbilled receivable account": "Contract asset account"}  # names in older workbooks
# Period spellings people type, normalized like headers (case, spaces, _ and - ignored) -> the period kind
PERIOD_SYNONYMS = {**dict.fromkeys(("month", "months", "monthly", "m", "mo", "mth"), "month"),
                   **dict.fromkeys(("quarter", "quarters", "quarterly", "q", "qtr", "qtrly"), "quarter"),
                   **dict.fromkeys(("year", "years", "yearly", "annual", "annually", "y", "yr", "fy", "fiscalyear"),
                                   "year")}


@dataclass(frozen=True)
class Settings:
    company: str
    currency: str
    as_of: int  # day number
    report_first: int
    report_last: int
    period: str
    fiscal_start_month: int
    ar_account: str
    unbilled_account: str
    deferred_account: str
    revenue_account: str
    detail_limit: int
    parse_options: ParseOptions = DEFAULT_OPTIONS  # Decimal separator, Date order, Time zone
    dimensions: tuple | None = None  # column names from the Dimensions row; None: chosen automatically
    dimensions_at: tuple | None = None  # (sheet, row) of that row, to locate a problem with a name
    invoices_posted_by: str = "bbb_xl"  # one of INVOICES_POSTED_BY
    journal_detail: str = "period"  # one of JOURNAL_DETAILS
    alert_rules: tuple = ()  # (rule, threshold or None = off) for the Alerts tab; () = the defaults
    forecast_horizon: int = 12  # months after the as-of date on the Forecast tab
    plan_version: str | None = None  # the Plan tab's version for Actual vs Plan; None: the only one
    delivery_load_by: str | None = None  # a Contracts column for the Backlog tab's delivery load; None: Product only
    rows_at: tuple = ()  # (setting name, its row on the Settings tab): to locate a problem found later
    arr_basis: str = ALLOCATED  # one of engine.metrics.ARR_BASES: the Metrics tab and Summary tiles
    grace_days: int = 0  # Renewal grace days of the Metrics tab's ARR bridge
    cutover: int | None = None  # day number of the Cutover Date (engine.cutover); None: no cutover
    refund_account: str = "2450 Refund Liability"
    fx_method: str = "booking rate"  # engine.fx_ifric22.FX_METHODS
    fx_account: str = "7100 Foreign Exchange Gain/Loss"

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.fiscal_start_month, fiscal_labels=self.fiscal_start_month != 1)


def parse_settings(rows, sheet: str = "Settings", today: dt.date | None = None) -> tuple[Settings | None, list]:
    """Rows of the Settings tab (Setting | Value | Meaning, header first) -> (Settings or None, problems)."""
    problems: list[Problem] = []
    found: dict[str, tuple[object, int]] = {}
    for r, row in enumerate(rows or []):
        if not row or is_blank(row[0]):
            continue
        key = normalize_header(row[0])
        key = next((normalize_header(new) for old, new in SETTING_SYNONYMS.items() if normalize_header(old) == key),
                   key)
        for name in SETTING_NAMES:
            if normalize_header(name) == key:
                found[name] = (row[1] if len(row) > 1 else None, r + 1)

    def bad(name, value, message):
        row = found.get(name, (None, None))[1]
        # a message that already names its setting is not prefixed again ("Report start 'Jan 2025' is not ...")
        text = message if message.startswith(name) else f"{name}: {message}"
        problems.append(Problem(row, "Value", value, text, ERROR, sheet, f"B{row}" if row else None))

    def raw(name):
        value = found.get(name, (None, None))[0]
        err = excel_error(value)
        if err:
            bad(name, value, f"{name} is the Excel error {err}")
            return None
        return None if is_blank(value) else value

    defaults = {name: default for name, default, _ in SETTINGS}
    options, option_problems = read_parse_options(rows, sheet)
    problems.extend(option_problems)

    def text(name):
        v = raw(name)
        return str(v).strip() if v is not None else defaults[name]

    currency = text("Currency").upper()
    if not (len(currency) == 3 and currency.isalpha()):
        bad("Currency", currency, f"'{currency}' is not a 3-letter ISO 4217 code (USD, EUR, GBP, JPY...)")

    def integer(name, lo, hi):
        v = raw(name)
        if v is None:
            return defaults[name]
        try:
            number = float(v)
            if not number.is_integer() or not lo <= number <= hi:
                raise ValueError
            return int(number)
        except (TypeError, ValueError):
            bad(name, v, f"'{v}' is not a whole number from {lo:,} to {hi:,}")
            return defaults[name]

    fiscal = integer("Fiscal year start month", 1, 12)
    limit = integer("Detail line limit", 1, 1_000_000)
    horizon = integer("Forecast horizon (months)", 1, 120)
    cal = Calendar(fiscal, fiscal_labels=fiscal != 1)

    period_text = text("Period")
    period = PERIOD_SYNONYMS.get(normalize_header(period_text))
    if period is None:
        bad("Period", period_text, f"'{period_text}' is not one of: month, quarter, year (monthly, quarterly, "
                                   f"yearly and annual are read the same)")
        period = "month"

    def choice(name, choices):
        value = " ".join(text(name).split()).lower()
        if value not in choices:
            bad(name, value, f"'{value}' is not one of: {', '.join(choices)}")
            return defaults[name]
        return value

    posted_by = choice("Invoices posted by", INVOICES_POSTED_BY)
    arr_basis = choice("ARR basis", ARR_BASES)
    grace_days = integer("Renewal grace days", 0, 3660)
    journal_detail = choice("Journal detail", JOURNAL_DETAILS)

    as_of = None
    v = raw("As-of date")
    if v is None:
        if today is None:
            bad("As-of date", None, "As-of date is blank: write the last day to report on, e.g. 2025-12-31")
        else:
            as_of = parse_date(today)
    else:
        try:
            as_of = parse_date(v, options)
        except ValueError as exc:
            bad("As-of date", v, str(exc))

    def window(name, edge):
        v = raw(name)
        if v is None:
            if as_of is None:
                return None
            fy = cal.period_id("year", int(_month_of(as_of)))
            return cal.bounds("year", fy)[0 if edge == "first" else 1]
        try:
            when = parse_when(v, cal, name)
            return when.first if edge == "first" else when.last
        except ValueError as exc:
            bad(name, v, str(exc))
            return None

    first = window("Report start", "first")
    last = window("Report end", "last")
    if first is not None and last is not None and last < first:
        bad("Report end", iso(last), f"{iso(last)} is before Report start {iso(first)}")
    dimensions, dimensions_at = _dimension_names(raw("Dimensions"), sheet, found.get("Dimensions", (None, None))[1])
    alert_rules = []
    for rule in ALERT_DEFAULTS:
        name = f"Alert: {rule}"
        value = raw(name)
        try:
            alert_rules.append((rule, ALERT_DEFAULTS[rule] if value is None else alert_threshold(rule, value)))
        except ValueError as exc:
            bad(name, value, str(exc))
    cutover = None
    v = raw("Cutover Date")
    if v is not None:
        try:
            cutover = parse_date(v, options)
        except ValueError as exc:
            bad("Cutover Date", v, str(exc))
    try:
        fx_method = normalize_fx_method(raw("FX method"))
    except ValueError as exc:
        bad("FX method", raw("FX method"), str(exc))
    if problems:
        return None, problems
    return Settings(text("Company name"), currency, as_of, first, last, period, fiscal,
                    text("Accounts receivable account"), text("Contract asset account"),
                    text("Deferred revenue account"), text("Revenue account"), limit, options,
                    dimensions=dimensions, dimensions_at=dimensions_at, invoices_posted_by=posted_by,
                    journal_detail=journal_detail, alert_rules=tuple(alert_rules), arr_basis=arr_basis,
                    grace_days=grace_days,
                    forecast_horizon=horizon, cutover=cutover,
                    plan_version=_text_or_none(raw("Plan version")),
                    delivery_load_by=_text_or_none(raw("Delivery load by")),
                    rows_at=tuple((name, r) for name, (_, r) in found.items()),
                    refund_account=text("Refund liability account"), fx_method=fx_method,
                    fx_account=text("FX gain/loss account")), problems


def setting_problem(settings: Settings, name: str, value, message: str, severity: str = ERROR,
                    sheet: str = "Settings") -> Problem:
    """A problem with a setting found after parsing (a name the inputs do not have), located at its Value cell."""
    row = dict(settings.rows_at).get(name)
    return Problem(row, "Value", value, f"{name}: {message}", severity, sheet, f"B{row}" if row else None)


def _text_or_none(value) -> str | None:
    from .engine.table import display_text
    return None if value is None else display_text(value)


def _dimension_names(value, sheet, row) -> tuple:
    """The Dimensions row: comma-separated column names (checked against the Contracts columns when the reports
    are built), or None when blank."""
    names = tuple(n.strip() for n in str(value).split(",") if n.strip()) if value is not None else ()
    return (names or None), ((sheet, row) if row else None)


def _month_of(day: int) -> int:
    from .core.dates import month_index
    import numpy as np
    return int(month_index(np.int64(day)))


_DECIMAL_SEPARATORS = {".": False, "point": False, "dot": False, "period": False, ",": True, "comma": True}


def read_parse_options(rows, sheet: str = "Settings") -> tuple[ParseOptions, list]:
    """The Decimal separator, Date order and Time zone rows -> (ParseOptions, problems). Read on their own, so the
    contracts are parsed as the user said even when another setting is wrong; a bad value is a located problem and
    its default is used."""
    problems: list[Problem] = []
    values = {"Decimal separator": None, "Date order": None, "Time zone": None}
    keys = {normalize_header(name): name for name in values}
    for r, row in enumerate(rows or []):
        if row and not is_blank(row[0]) and normalize_header(row[0]) in keys:
            values[keys[normalize_header(row[0])]] = (row[1] if len(row) > 1 else None, r + 1)

    def bad(name, value, message):
        row = values[name][1]
        problems.append(Problem(row, "Value", value, f"{name}: {message}", ERROR, sheet, f"B{row}"))

    def given(name):
        if values[name] is None or is_blank(values[name][0]):
            return None
        v = values[name][0]
        if excel_error(v):
            bad(name, v, f"is the Excel error {excel_error(v)}")
            return None
        return str(v).strip()

    decimal_comma = False
    v = given("Decimal separator")
    if v is not None:
        decimal_comma = _DECIMAL_SEPARATORS.get(v.casefold())
        if decimal_comma is None:
            bad("Decimal separator", v, f"'{v}' is not . (1,500.25) or , (1.500,25)")
            decimal_comma = False
    order = "ISO"
    v = given("Date order")
    if v is not None:
        order = normalize_date_order(v)
        if order is None:
            bad("Date order", v, f"'{v}' is not ISO, MDY or DMY")
            order = "ISO"
    zone = "UTC"
    v = given("Time zone")
    if v is not None:
        try:
            time_zone(v)
            zone = v
        except ValueError as exc:
            bad("Time zone", v, str(exc))
    return ParseOptions(decimal_comma=decimal_comma, date_order=order, time_zone=zone), problems
