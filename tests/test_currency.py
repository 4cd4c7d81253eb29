"""Multiple currencies: one contract rate per line (its Booking Date's month), cumulative amounts converted and
rounded to the reporting currency's minor unit (ISO 4217), schedules that still tie, and located errors.

Sources: ASC 830-20-30-1 (a foreign currency transaction is measured at the exchange rate of the date it is
recognized), ISO 4217 (minor units: JPY has 0 decimals, USD and EUR 2)."""
from decimal import Decimal as D

import numpy as np
import pytest

from bbb_xl import load_book
from bbb_xl.udfs import BBB_CHECK, BBB_REVENUE, BBB_SCHEDULE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Currency"]
FX = ["Currency", "Month", "Rate"]


def contracts(*body):
    return [list(HEADER)] + [list(r) for r in body]


def fx(*body):
    return [list(FX)] + [list(r) for r in body]


BOOK = contracts(["U1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly", "USD"],
                 ["E1", "Euro AG", "a", "2026-02-10", "2026-03-01", "2026-05-31", 1000, "daily", "upfront", "EUR"],
                 ["J1", "Nippon KK", "a", None, "2026-01-01", "2026-03-31", 100000, "monthly", "monthly", "JPY"])
RATES = fx(["EUR", "2026-02", 1.0843], ["EUR", "2026-03", 1.2], ["JPY", "2026-01", 0.006667])


def test_each_line_converts_at_its_booking_month_rate_and_schedules_tie():
    book = load_book(BOOK, fx=RATES, reporting_currency="USD")
    assert book.ok, book.problems
    # EUR line booked in February: 1,000 EUR at 1.0843 = 1,084.30 USD, whatever the March rate
    rev = book.schedule_for("revenue", "2026-01", "2026-12", "month", "Contract ID").to_rows()
    e1 = {r[0]: r[1:] for r in rev[1:]}["E1"]
    assert sum(e1) == D("1084.30")
    # March: 31/92 of 1,000 EUR = 336.96 EUR recognized to date -> x 1.0843 = 365.3657 -> 365.37 USD
    assert e1[2] == D("365.37")
    j1 = {r[0]: r[1:] for r in rev[1:]}["J1"]
    assert sum(j1) == D("666.70")  # 100,000 JPY x 0.006667
    bookings = book.schedule_for("bookings", "2026-01", "2026-12").to_rows()[1][1:]
    assert sum(bookings) == D("1200") + D("1084.30") + D("666.70")
    assert book.balance("backlog", "2026-12-31") == 0
    # local figures stay available per currency
    sel = book.select("Currency=EUR")
    assert book.flow_cents("revenue", book.lines.start.min(), book.lines.end.max() + 1, sel, convert=False) == 100000


def test_reporting_in_yen_rounds_to_whole_yen():
    book = load_book(contracts(["U1", "Acme", "a", None, "2026-01-01", "2026-03-31", 100, "daily", "monthly",
                                "USD"]), fx=fx(["USD", "2026-01", 150.37]), reporting_currency="JPY")
    assert book.ok, book.problems
    for metric in ("revenue", "billings"):
        rows = book.schedule_for(metric, "2026-01", "2026-03").to_rows()[1][1:]
        assert all(v == v.to_integral_value() for v in rows), rows
        assert sum(rows) == D("15037")


def test_formulas_infer_the_reporting_currency_from_the_fx_range():
    assert BBB_REVENUE(BOOK, "2026", None, None, None, RATES) == pytest.approx(1200 + 1084.30 + 666.70)
    assert BBB_SCHEDULE(BOOK, "revenue", "2026-01", "2026-01", None, None, "Currency=USD", None, RATES)[1][1] == 100.0


def test_missing_rate_is_a_located_error():
    rates = fx(["EUR", "2026-03", 1.2], ["JPY", "2026-01", 0.006667])
    book = load_book(BOOK, fx=rates, reporting_currency="USD", sheet="Contracts", origin=(1, 1))
    (err,) = book.errors
    assert "no FX rate for EUR in 2026-02" in err.message and err.cell == "J3" and err.column == "Currency"
    assert book.parsed.excluded_contracts == ("E1",)
    table = BBB_CHECK(BOOK, None, rates)
    assert table[1][0] == 3 and "no FX rate for EUR in 2026-02" in table[1][4]


def test_mixed_currencies_without_fx_is_an_error_never_a_sum():
    text = BBB_REVENUE(BOOK, "2026")
    assert isinstance(text, str) and text.startswith("#BBB!") and "without an FX range" in text
    # one currency alone needs no FX range
    assert BBB_REVENUE(BOOK[:2], "2026") == 1200.0


def test_two_currencies_in_one_contract_is_an_error():
    rows = contracts(["C1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly", "USD"],
                     ["C1", "Acme", "b", None, "2026-01-01", "2026-12-31", 100, "monthly", "monthly", "EUR"])
    book = load_book(rows, fx=fx(["EUR", "2026-01", 1.1]), reporting_currency="USD")
    assert any("one currency per contract" in p.message and p.row == 3 for p in book.errors)


@pytest.mark.parametrize("row, message", [
    (["EUR", "2026-13", 1.1], "is not a month"),
    (["EUR", "2026-01", -1], "must be above 0"),
    (["EURO", "2026-01", 1.1], "not a 3-letter ISO 4217 code"),
])
def test_bad_fx_rows_are_located(row, message):
    book = load_book(BOOK[:2], fx=fx(row), reporting_currency="USD")
    errors = [p for p in book.errors if p.table == "fx"]
    assert errors and message in errors[0].message and errors[0].row == 2


def test_currency_with_modifications_still_ties():
    events = [["Contract ID", "Line ID", "Date", "Event", "Amount", "End Date"],
              ["E1", "a", "2026-04-01", "modify", 1500, "2026-06-30"]]
    book = load_book(BOOK, events, fx=RATES, reporting_currency="USD")
    assert book.ok, book.problems
    sel = np.arange(len(book.lines))
    days = np.array([20000, 21000], dtype=np.int64)
    assert np.array_equal(book.cumulative("revenue", sel, days)[:, -1], book.final_allocated)
    assert int(book.final_amount[1]) == 162645  # 1,500 EUR x 1.0843


def test_workbook_reports_convert_with_the_fx_rates_tab_and_break_down_by_currency():
    import datetime as dt
    from bbb_xl.excel.workflow import compute_reports
    from bbb_xl.settings import SETTINGS
    settings = [["Setting", "Value", "Meaning"]] + [[n, v, ""] for n, v, _ in SETTINGS]
    settings = [[r[0], {"As-of date": dt.date(2026, 12, 31), "Currency": "USD"}.get(r[0], r[1]), r[2]]
                for r in settings]
    reports = compute_reports(BOOK, settings, None, fx_rows=RATES)
    assert reports.status == "Inputs OK", reports.problems
    summary = reports.sheets["Summary"]
    rows = [r for r in summary.rows() if r and r[0] in ("EUR", "JPY", "USD")]
    by = {r[0]: r for r in rows}
    assert by["EUR"][1:5] == [1, 100000, 100000, 0] and by["EUR"][5:7] == [108430, 108430]
    assert by["JPY"][5] == 66670 and by["USD"][2] == by["USD"][5] == 120000
    assert summary.cell(7, 4) == 120000 + 108430 + 66670  # bookings, year to date, in USD
    # a missing rate shows on Exceptions with its cell, and the contract is left out
    reports = compute_reports(BOOK, settings, None, fx_rows=RATES[:1] + RATES[2:])
    exceptions = reports.sheets["Exceptions"].rows()
    assert any(r and r[0] == "Contracts!J3" and "no FX rate for EUR" in r[4] for r in exceptions)
