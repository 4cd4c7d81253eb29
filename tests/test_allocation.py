"""Relative standalone selling price allocation (several performance obligations in one contract), to the cent.

Sources: ASC 606-10-32-28 to 32-31 (allocate the transaction price to each performance obligation in proportion
to the standalone selling prices), 32-32 to 32-35 (SSP estimates), 32-36 to 32-41 (discounts, variable
consideration) and ASC 606-10-55-256 to 55-258 (Example 33, Allocation Methodology: Products A, B and C sold
for $100 with SSPs $50, $25 and $75 are allocated $33, $17 and $50 -- whole dollars in the standard, 33.33,
16.67 and 50.00 to the cent here). Stripe Revenue Recognition, "Standalone selling prices"
(docs.stripe.com/revenue-recognition/standalone-selling-price): a bundle's price is allocated to its components
by their SSPs (absolute values), each component keeping its own revenue schedule.
"""
import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest

from bbb_xl import api, load_book
from bbb_xl.engine.allocation import allocate, allocate_groups
from bbb_xl.reports.allocation import allocation_report
from bbb_xl.udfs import BBB_ALLOCATE, BBB_BACKLOG, BBB_CHECK, BBB_REVENUE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "SSP",
          "Recognition", "Billing"]


def row(cid, line_id, amount, ssp, start="2025-01-01", end="2025-12-31", recognition="monthly",
        billing="upfront", booking="2025-01-01", customer="Acme"):
    return [cid, customer, line_id, booking, start, end, amount, ssp, recognition, billing]


def rows(*body):
    return [list(HEADER)] + [list(r) for r in body]


# --- the split itself ---------------------------------------------------------------------------------------

def test_example_33_products_a_b_c():
    # ASC 606-10-55-256 to 55-258 (Example 33): $100 over SSPs $50 / $25 / $75
    assert allocate(10000, [5000, 2500, 7500]) == [3333, 1667, 5000]
    assert BBB_ALLOCATE(100, ((50.0,), (25.0,), (75.0,))) == [[33.33], [16.67], [50.0]]


def test_bundle_price_1500_over_ssps_500_and_1500():
    assert allocate(150000, [50000, 150000]) == [37500, 112500]
    assert BBB_ALLOCATE(1500, ((500.0, 1500.0),)) == [[375.0, 1125.0]]  # a row range spills as a row


def test_cents_by_largest_remainder_ties_to_the_earlier_line():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(1, [1, 1]) == [1, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    # 0.05 over 1/3 and 2/3: exact 1.67 and 3.33 cents -> remainders decide (2, 3)
    assert allocate(5, [1, 2]) == [2, 3]


def test_zero_ssp_lines_get_nothing_and_negative_prices_mirror():
    assert allocate(10000, [0, 1, 0, 3]) == [0, 2500, 0, 7500]
    assert allocate(-10000, [5000, 2500, 7500]) == [-3333, -1667, -5000]
    assert BBB_ALLOCATE(-100, [[50], [25], [75]]) == [[-33.33], [-16.67], [-50.0]]
    with pytest.raises(ValueError):
        allocate(100, [0, 0])


def test_vectorised_groups_match_the_scalar_split():
    totals = np.array([10000, -150000, 100, 7])
    weights = np.array([5000, 2500, 7500, 50000, 150000, 1, 1, 1, 0, 3])
    group = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
    got = allocate_groups(totals, weights, group)
    assert got.tolist() == [3333, 1667, 5000, -37500, -112500, 34, 33, 33, 0, 7]


def test_allocate_formula_errors():
    assert BBB_ALLOCATE(100, [[0], [0]]).startswith("#BBB! the SSPs are all 0")
    assert BBB_ALLOCATE(100, [[10], [-1]]) == "#BBB! SSP 2 of ssps (-1) is negative: a standalone selling price " \
                                               "is 0 or more"
    assert BBB_ALLOCATE(100, [[10], [None]]).startswith("#BBB! SSP 2 of ssps is blank")
    assert BBB_ALLOCATE(None, [[10]]) == "#BBB! total is missing"
    assert BBB_ALLOCATE(100, 7.0) == [[100.0]]  # one cell


# --- in a book ----------------------------------------------------------------------------------------------

BUNDLE = rows(
    # setup fee: point in time on 2025-01-01, Amount 300 invoiced upfront; SSP 500
    row("B1", "setup", 300, 500, end=None, recognition="point in time"),
    # subscription: 1,200 over 2025 billed monthly (100 a month); SSP 1,500
    row("B1", "subscription", 1200, 1500, billing="monthly"),
)


def test_bundle_setup_fee_and_subscription():
    book = load_book(BUNDLE)
    assert book.ok, book.problems
    assert book.lines.allocated.tolist() == [37500, 112500]
    # revenue follows the allocation: 375.00 at a point in time + 1,125.00 / 12 = 93.75 a month
    rev = book.schedule_for("revenue", "2025-01", "2025-03", None, "Line ID").to_rows()
    assert rev[1] == ["setup", D("375.00"), D("0.00"), D("0.00")]
    assert rev[2] == ["subscription", D("93.75"), D("93.75"), D("93.75")]
    # bookings and billings keep the lines' own Amounts
    assert book.flow("bookings", "2025-01") == D("1500.00")
    assert book.flow("billings", "2025-01") == D("400.00")
    # per contract: recognized 468.75 > billed 400.00 -> a contract asset of 68.75, no liability
    assert book.balance("unbilled", "2025-01") == D("68.75")
    assert book.balance("deferred", "2025-01") == D("0.00")
    assert book.balance("unbilled", "2025-02") == D("62.50")
    assert book.balance("unbilled", "2025-12") == D("0.00")
    # backlog + recognized = booked, with the allocated amounts
    assert book.balance("backlog", "2025-01") == D("1031.25")
    assert book.flow("revenue", "2025-01", "2025-12") == D("1500.00")
    within, after = book.rpo("2025-01")
    assert within + after == D("1031.25")


def test_backlog_by_line_uses_the_allocated_amounts():
    book = load_book(BUNDLE)
    backlog = book.schedule_for("backlog", "2025-01", "2025-01", None, "Line ID").to_rows()
    assert backlog[1:] == [["setup", D("0.00")], ["subscription", D("1031.25")], ["Total", D("1031.25")]]


def test_formulas_follow_the_allocation():
    assert BBB_REVENUE(BUNDLE, "2025-01") == 468.75
    assert BBB_BACKLOG(BUNDLE, "2025-06", "Line ID=subscription") == 562.5
    # no error or warning: only notices of how the missing Billing Timing / Billing Start columns are read
    assert [r[3] for r in BBB_CHECK(BUNDLE)[1:]] == ["info", "info"]


def test_contracts_without_ssp_are_untouched_and_negative_prices_allocate():
    book = load_book(rows(row("P1", "a", 1000, None), row("N1", "a", -100, 50), row("N1", "b", 0, 25),
                          row("N1", "c", 0, 75)))
    assert book.ok, book.problems
    assert book.lines.allocated.tolist() == [100000, -3333, -1667, -5000]
    assert book.flow("revenue", "2025-01", "2025-12", "Contract ID=N1") == D("-100.00")


def test_zero_ssp_line_is_allocated_nothing():
    book = load_book(rows(row("Z1", "a", 600, 0), row("Z1", "b", 400, 100)))
    assert book.lines.allocated.tolist() == [0, 100000]


@pytest.mark.parametrize("body, where, message", [
    # (row 2 is a good contract, OK1)
    ([row("E1", "a", 100, 50), row("E1", "b", 100, None)], (4, "SSP"),
     "SSP is blank, but contract E1 has SSPs on row 3: give every line of the contract an SSP"),
    ([row("E1", "a", 100, 0), row("E1", "b", 100, 0)], (3, "SSP"), "the SSPs of contract E1 are all 0"),
    ([row("E1", "a", 100, -5), row("E1", "b", 100, 5)], (3, "SSP"), "SSP -5 is negative"),
    # a line with a later Booking Date given is added by a modification (tests/test_asc606_part3_allocation.py);
    # a blank one (the Start Date) must agree
    ([row("E1", "a", 100, 5), row("E1", "b", 100, 5, booking=None, start="2025-02-01")], (4, "Booking Date"),
     "Booking Date 2025-02-01 differs from 2025-01-01 on row 3: the lines of a contract allocated by SSP share "
     "one Booking Date"),
    ([row("E1", "a", 100, "abc"), row("E1", "b", 100, 5)], (3, "SSP"), "SSP 'abc' is not an amount"),
])
def test_allocation_errors_are_located_and_exclude_the_contract(body, where, message):
    book = load_book(rows(row("OK1", "x", 10, None), *body), sheet="Contracts", origin=(1, 1))
    errors = book.errors
    assert any((p.row, p.column) == where and message in p.message for p in errors), errors
    assert "E1" in book.parsed.excluded_contracts
    assert set(book.lines.contract) == {"OK1"}


def test_blank_booking_dates_default_to_start_and_must_agree():
    book = load_book(rows(row("E2", "a", 100, 5, booking=None), row("E2", "b", 100, 5, booking=None,
                                                                     start="2025-02-01")))
    assert "(a blank Booking Date is the Start Date)" in book.errors[0].message


def test_located_with_cells():
    book = load_book(rows(row("E1", "a", 100, 50), row("E1", "b", 100, None)), sheet="Contracts",
                     origin=(3, 2))
    assert book.errors[0].location == "Contracts!I5"


def test_allocation_report():
    book = load_book(BUNDLE + [row("P1", "a", 1000, None, customer="Other")])
    sheet = allocation_report(book, "Acme Inc \u2014 ")
    grid = sheet.rows()
    assert grid[0][0].startswith("Acme Inc \u2014 allocation")
    header = grid[4]
    assert header[:8] == ["Contract ID", "Customer", "Line ID", "Recognition", "Amount", "SSP", "Allocated",
                          "Difference (Allocated \u2212 Amount)"]
    assert grid[5][:8] == ["B1", "Acme", "setup", "point in time", 30000, 50000, 37500, 7500]
    assert grid[6][:8] == ["B1", "Acme", "subscription", "monthly", 120000, 150000, 112500, -7500]
    assert grid[7][:8] == ["Total B1", "", "", "", 150000, 200000, 150000, 0]
    assert "1 contract without SSPs not listed" in grid[2][0]
    styles = {b.row: b.styles for b in sheet.blocks}
    assert styles[6][4] == "money" and styles[8][4] == "money_total"
    empty = allocation_report(load_book(rows(row("P1", "a", 1000, None))), "")
    assert "No contract has SSPs" in empty.rows()[-1][0]


def test_cache_distinguishes_ssp_changes():
    api.clear_cache()
    a = api.book_from_range(BUNDLE)
    changed = [list(r) for r in BUNDLE]
    changed[1][7] = 600
    assert api.book_from_range(changed) is not a
    assert api.book_from_range([list(r) for r in BUNDLE]) is a


def test_header_alias_and_dates_as_excel_hands_them():
    body = rows(row("B1", "a", 100, 1, start=dt.datetime(2025, 1, 1), booking=dt.datetime(2025, 1, 1)),
                row("B1", "b", 200, 2, start=dt.datetime(2025, 1, 1), booking=None))
    body[0][7] = "Standalone Selling Price"
    book = load_book(body)
    assert book.ok, book.problems
    assert book.lines.allocated.tolist() == [10000, 20000]
