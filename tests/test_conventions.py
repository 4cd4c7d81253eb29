"""Worked examples of the recognition, billing and balance conventions, to the cent, with their sources."""
from decimal import Decimal as D

import pytest

from bbb_xl import load_book
from conftest import book_rows, line


def revenue_by_month(rows, start, end):
    sched = load_book(rows).schedule_for("revenue", start, end)
    return [str(v) for v in sched.to_rows()[-1][1:]]


def test_12000_over_calendar_2025_is_1000_every_month():
    # bbb_xl engine spec (issue "The engine and its formulas", section 3)
    rows = book_rows(line(amount=12000.0, start="2025-01-01", end="2025-12-31"))
    assert revenue_by_month(rows, "2025-01", "2025-12") == ["1000.00"] * 12


def test_monthly_partial_first_and_last_months_prorated_by_days():
    # $300 from 2026-01-20 to 2026-03-02: 12/31 of a month, one month, 2/31 of a month (2 + 12/31 months)
    rows = book_rows(line(amount=300, start="2026-01-20", end="2026-03-02"))
    assert revenue_by_month(rows, "2026-01", "2026-03") == ["80.00", "206.67", "13.33"]


def test_daily_100_over_2026():
    # cumulative rounding: Jan = round(100*31/365) = 8.49, Feb = round(100*59/365) - 8.49 = 7.67
    rows = book_rows(line(amount=100, start="2026-01-01", end="2026-12-31", recognition="daily"))
    months = revenue_by_month(rows, "2026-01", "2026-12")
    assert months[:2] == ["8.49", "7.67"]
    assert sum(D(m) for m in months) == D("100.00")


def test_stripe_contra_example_daily_subscription_across_month_end():
    # Stripe docs, Revenue Recognition > Examples > Contra, "Customer credit balance": a 31 USD monthly
    # subscription from 2026-01-15 to 2026-02-14 recognized per day: 17.00 in January, 14.00 in February,
    # with 14.00 deferred at the end of January (invoice finalised 15 January).
    rows = book_rows(line(amount=31, start="2026-01-15", end="2026-02-14", recognition="daily"))
    book = load_book(rows)
    assert revenue_by_month(rows, "2026-01", "2026-02") == ["17.00", "14.00"]
    assert book.balance("deferred", "2026-01") == D("14.00")
    assert book.flow("billings", "2026-01") == D("31.00")


def test_stripe_amortization_granularity_daily_example():
    # Stripe docs, Revenue Recognition settings examples, "Amortization granularity" (daily): 120 USD for four
    # months from 2026-06-15 (to 2026-10-12 inclusive, 120 days): Jun 16, Jul 31, Aug 31, Sep 30, Oct 12; 104
    # deferred after June.
    rows = book_rows(line(amount=120, start="2026-06-15", end="2026-10-12", recognition="daily"))
    assert revenue_by_month(rows, "2026-06", "2026-10") == ["16.00", "31.00", "31.00", "30.00", "12.00"]
    assert load_book(rows).balance("deferred", "2026-06") == D("104.00")


def test_point_in_time_recognized_on_start_date():
    rows = book_rows(line(amount=5000, start="2025-03-10", end=None, recognition="point in time"))
    assert revenue_by_month(rows, "2025-02", "2025-04") == ["0.00", "5000.00", "0.00"]


def test_booked_after_start_catches_up_on_booking_date():
    # service from January, signed 2025-03-15: nothing before March, January-March caught up in March
    rows = book_rows(line(amount=12000, start="2025-01-01", end="2025-12-31", booking="2025-03-15"))
    book = load_book(rows)
    assert revenue_by_month(rows, "2025-01", "2025-04") == ["0.00", "0.00", "3000.00", "1000.00"]
    assert book.balance("backlog", "2025-02") == D("0.00")
    assert book.balance("backlog", "2025-03") == D("9000.00")
    # the upfront invoice dated 2025-01-01 moves to the booking date
    assert book.flow("billings", "2025-01", "2025-02") == D("0.00")
    assert book.flow("billings", "2025-03-15", "2025-03-15") == D("12000.00")


def test_bookings_on_booking_date_and_backlog_rpo_split():
    rows = book_rows(line(amount=36000, start="2025-01-01", end="2027-12-31", booking="2024-12-20"))
    book = load_book(rows)
    assert book.flow("bookings", "2024-12") == D("36000.00")
    assert book.flow("bookings", "2025") == D("0.00")
    # at 2025-06-30: 6 of 36 months recognized; within 12 months: 12,000; after: 18,000
    assert book.rpo("2025-06") == (D("12000.00"), D("18000.00"))
    assert book.balance("backlog", "2025-06-30") == D("30000.00")


def test_deferred_and_unbilled_net_per_contract():
    # C1: billed upfront 1,200, 3 months recognized -> deferred 900.
    # C2: billed annually in arrears, 3 months of 2,400 recognized -> unbilled 600.
    # C3: two lines netted: upfront 1,200 billed line vs arrears 1,200 line -> net 1200 - 300 - 300 = 600 deferred.
    rows = book_rows(
        line("C1", amount=1200),
        line("C2", customer="Beta", amount=2400, billing="annual", timing="arrears"),
        line("C3", customer="Gamma", amount=1200, line_id="1"),
        line("C3", customer="Gamma", amount=1200, line_id="2", billing="annual", timing="arrears"),
    )
    book = load_book(rows)
    assert book.balance("deferred", "2025-03") == D("1500.00")
    assert book.balance("unbilled", "2025-03") == D("600.00")
    assert book.balance("deferred", "2025-03", "Contract ID=c3") == D("600.00")


def test_negative_discount_line():
    rows = book_rows(line("C1", amount=1200, line_id="1"), line("C1", amount=-120, line_id="2"))
    assert revenue_by_month(rows, "2025-01", "2025-02") == ["90.00", "90.00"]


def test_amount_of_ten_to_the_13_over_ten_years_stays_exact():
    # 10^13 dollars = 10^15 cents; monthly weights over 120 months reach ~4.5e7 units: the product would overflow
    # int64 without the exact split in mul_div_round.
    amount = 10**13
    rows = book_rows(line(amount=float(amount), start="2025-01-01", end="2034-12-31", recognition="monthly"),
                     line("C2", amount=-float(amount) + 0.01, start="2025-01-01", end="2034-12-31",
                          recognition="daily"))
    book = load_book(rows)
    sched = book.schedule_for("revenue", "2025-01", "2034-12", "year", "Contract ID")
    c1 = [v for v in sched.to_rows()[1][1:]]
    assert c1 == [D("1000000000000.00")] * 10
    c2 = sched.to_rows()[2][1:]
    assert sum(c2) == D(-amount) + D("0.01")
    # daily over 3652 days: year 2025 = round(A*365/3652)
    assert c2[0] == -(D(10**15 - 1) * 365 / 3652).quantize(D(1), rounding="ROUND_HALF_UP") / 100
