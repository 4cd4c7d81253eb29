"""Invoice schedules: anchored billing periods, cut last periods, advance and arrears."""
from decimal import Decimal as D

from bbb_xl import load_book
from bbb_xl.core.dates import iso
from conftest import book_rows, line


def invoices(**kw):
    book = load_book(book_rows(line(**kw)))
    assert book.ok, book.problems
    inv = book.invoices
    return [(iso(d), str(D(int(a)) / 100)) for d, a in zip(inv.date, inv.amount)]


def test_quarterly_in_advance():
    assert invoices(amount=1200, start="2025-01-15", end="2026-01-14", billing="quarterly") == [
        ("2025-01-15", "300"), ("2025-04-15", "300"), ("2025-07-15", "300"), ("2025-10-15", "300")]


def test_quarterly_in_arrears_dated_last_day_of_period():
    assert invoices(amount=1200, start="2025-01-15", end="2026-01-14", billing="quarterly", timing="arrears") == [
        ("2025-04-14", "300"), ("2025-07-14", "300"), ("2025-10-14", "300"), ("2026-01-14", "300")]


def test_monthly_billing_cut_last_period_by_days():
    # Jan, Feb, Mar whole; 1-15 April is 15/30 of a month: weights 1, 1, 1, 0.5 of 3.5, cumulative rounding
    assert invoices(amount=1000, start="2025-01-01", end="2025-04-15", billing="monthly") == [
        ("2025-01-01", "285.71"), ("2025-02-01", "285.72"), ("2025-03-01", "285.71"), ("2025-04-01", "142.86")]


def test_quarterly_cut_last_period_whole_months_plus_days():
    # weights 3, 3, and 1 + 15/31 (July whole, 1-15 August): total 232/31; 2,320 -> 930, 930, 460
    assert invoices(amount=2320, start="2025-01-01", end="2025-08-15", billing="quarterly") == [
        ("2025-01-01", "930"), ("2025-04-01", "930"), ("2025-07-01", "460")]


def test_month_end_anchor_invoices():
    got = invoices(amount=1200, start="2025-01-31", end="2026-01-30", billing="monthly")
    assert [d for d, _ in got] == ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31",
                                   "2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31",
                                   "2025-11-30", "2025-12-31"]
    assert {a for _, a in got} == {"100"}


def test_billing_start_differs_from_start_spreads_whole_amount():
    # service all of 2025, billing from 1 March annually: one (cut, 10-month) period gets the whole amount
    assert invoices(amount=1200, start="2025-01-01", end="2025-12-31", billing="annual",
                    billing_start="2025-03-01") == [("2025-03-01", "1200")]
    got = invoices(amount=1000, start="2025-01-01", end="2025-12-31", billing="semiannual",
                   billing_start="2025-03-01")
    assert got == [("2025-03-01", "600"), ("2025-09-01", "400")]  # weights 6 and 4 months


def test_upfront_advance_and_arrears():
    assert invoices(amount=500, start="2025-02-01", end="2025-07-31") == [("2025-02-01", "500")]
    assert invoices(amount=500, start="2025-02-01", end="2025-07-31", timing="arrears") == [("2025-07-31", "500")]


def test_invoice_before_booking_is_dated_on_booking():
    assert invoices(amount=300, start="2025-01-01", end="2025-03-31", billing="monthly",
                    booking="2025-02-10") == [("2025-02-10", "100"), ("2025-02-10", "100"), ("2025-03-01", "100")]


def test_leap_day_anchor_annual_billing():
    got = invoices(amount=4000, start="2024-02-29", end="2028-02-28", billing="annual")
    assert got == [("2024-02-29", "1000"), ("2025-02-28", "1000"), ("2026-02-28", "1000"), ("2027-02-28", "1000")]
