"""Workbook settings: parsed and validated like any input, each problem located at its cell."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .core.dates import iso, parse_date
from .core.errors import ERROR, Problem
from .core.periods import Calendar, parse_when
from .engine.table import excel_error, is_blank, normalize_header

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
    ("Unbilled receivable account", "1250 Unbilled Receivable", "GL account of the contract asset: revenue "
                                                                "recognized ahead of billing."),
    ("Deferred revenue account", "2400 Deferred Revenue", "GL account of the contract liability: billed ahead "
                                                          "of revenue."),
    ("Revenue account", "4000 Revenue", "GL account credited by recognized revenue."),
    ("Detail line limit", 20000, "Most contract lines shown line by line in Revenue and Billings; above it, one "
                                 "row per contract there and the line-level schedule in a CSV beside the workbook."),
]
SETTING_NAMES = [name for name, _, _ in SETTINGS]
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
    cal = Calendar(fiscal, fiscal_labels=fiscal != 1)

    period_text = text("Period")
    period = PERIOD_SYNONYMS.get(normalize_header(period_text))
    if period is None:
        bad("Period", period_text, f"'{period_text}' is not one of: month, quarter, year (monthly, quarterly, "
                                   f"yearly and annual are read the same)")
        period = "month"

    as_of = None
    v = raw("As-of date")
    if v is None:
        if today is None:
            bad("As-of date", None, "As-of date is blank: write the last day to report on, e.g. 2025-12-31")
        else:
            as_of = parse_date(today)
    else:
        try:
            as_of = parse_date(v)
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
    if problems:
        return None, problems
    return Settings(text("Company name"), currency, as_of, first, last, period, fiscal,
                    text("Accounts receivable account"), text("Unbilled receivable account"),
                    text("Deferred revenue account"), text("Revenue account"), limit), problems


def _month_of(day: int) -> int:
    from .core.dates import month_index
    import numpy as np
    return int(month_index(np.int64(day)))
