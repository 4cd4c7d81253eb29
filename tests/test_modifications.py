"""Contract modifications and cancellations, worked examples to the cent.

Sources: ASC 606-10-25-10 to 25-13 (contract modifications: 25-13(a) a modification for distinct remaining goods
or services at other than their standalone price is accounted for prospectively, as the termination of the old
contract and the creation of a new one; 25-13(b) a modification of a single partially satisfied performance
obligation is part of the existing contract, with a cumulative catch-up adjustment to revenue on the date of the
modification), ASC 606-10-55-110 to 55-116 (Example 7, a modification of a services contract: 300,000 for three
years of services, at the start of year 3 renewed at a lower price; the remaining consideration is spread over the
remaining service period), ASC 606-10-32-42 (changes in the transaction price) and ASC 606-10-45-1 to 45-4
(contract liabilities: an invoice cancelled by a credit note). The no-default-reversal rule of a cancellation
(revised price = max(billed, recognized)) follows the issue's spec: what was billed and not refunded is earned.
"""
from decimal import Decimal as D

import numpy as np
import pytest

from bbb_xl import load_book
from bbb_xl.udfs import BBB_BACKLOG, BBB_BOOKINGS, BBB_CHECK, BBB_REVENUE, BBB_SCHEDULE

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment"]


def contracts(*body):
    return [list(HEADER)] + [list(r) for r in body]


def events(*body):
    return [list(EVENTS)] + [list(r) for r in body]


def ev(cid, line, date, kind, amount=None, end=None, treatment=None):
    return [cid, line, date, kind, amount, None, end, treatment]


def sched(book, metric, start, end, period="month"):
    return [D(x) for x in book.schedule_for(metric, start, end, period).to_rows()[1][1:]]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


ANNUAL_2026 = contracts(["C1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly"])


def test_prospective_upsell_mid_term_with_monthly_billing():
    """1,200 for 2026 revised to 1,800 from 2026-07-01: 100 a month January-June, 200 a month July-December.
    Monthly invoices follow: 100 a month, then the 1,200 left over the six invoices from July."""
    book = load_book(ANNUAL_2026, events(ev("C1", "a", "2026-07-01", "modify", 1800)))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2026-01", "2026-12") == money(*[100] * 6, *[200] * 6)
    assert sched(book, "billings", "2026-01", "2026-12") == money(*[100] * 6, *[200] * 6)
    assert sched(book, "bookings", "2026-01", "2026-12") == money(1200, 0, 0, 0, 0, 0, 600, 0, 0, 0, 0, 0)
    assert sched(book, "backlog", "2026-06", "2026-07") == money(600, 1000)  # 600 left + 600 upsell - 200
    assert book.balance("deferred", "2026-09") == 0 and book.balance("unbilled", "2026-09") == 0


def test_asc_606_example_7_prospective_renewal_over_a_longer_term():
    """ASC 606 Example 7 (55-110): 300,000 for three years (100,000 a year); at the start of year 3 the contract
    is modified to a total of 480,000 ending after year 6: the 280,000 left is 70,000 a year for years 3 to 6."""
    book = load_book(contracts(["C7", "Cust", "svc", None, "2024-01-01", "2026-12-31", 300000, "monthly", "annual"]),
                     events(ev("C7", "svc", "2026-01-01", "modify", 480000, "2029-12-31")))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2024", "2029", "year") == money(100000, 100000, 70000, 70000, 70000, 70000)
    # annual invoices: 100,000 for 2024 and 2025, then the 280,000 left over the four invoices from 2026
    assert sched(book, "billings", "2024", "2029", "year") == money(100000, 100000, 70000, 70000, 70000, 70000)
    assert sched(book, "bookings", "2024", "2029", "year") == money(300000, 0, 180000, 0, 0, 0)
    assert sched(book, "backlog", "2024", "2029", "year") == money(200000, 100000, 210000, 140000, 70000, 0)


def test_catch_up_modification_lands_the_difference_on_its_date():
    """ASC 606-10-25-13(b): from 2026-07-01 the contract is 1,800 over 2026 as if it always was: 900 recognized
    by June 30 under the new terms, 600 was -> a 300 catch-up in July on top of July's 150."""
    book = load_book(ANNUAL_2026, events(ev("C1", "a", "2026-07-01", "modify", 1800, None, "catch-up")))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2026-01", "2026-12") == money(*[100] * 6, 450, *[150] * 5)
    change = book.events.changes.records[0]
    assert (change.kind, change.treatment, change.booking, change.revenue) == ("modify", "catch-up", 60000, 30000)


def test_cancellation_of_an_upfront_billed_annual_contract_without_credit():
    """Billed 1,200 upfront, cancelled on 2026-07-01 with no refund: the revised price is what was billed, so the
    600 not yet recognized is recognized on the cancellation date; nothing is left in backlog or deferred."""
    book = load_book(contracts(["C2", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"]),
                     events(ev("C2", "a", "2026-07-01", "cancel")))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2026-01", "2026-12") == money(*[100] * 6, 600, *[0] * 5)
    assert sched(book, "billings", "2026-01", "2026-12") == money(1200, *[0] * 11)
    assert sched(book, "bookings", "2026-01", "2026-12") == money(1200, *[0] * 11)
    assert book.balance("backlog", "2026-07-01") == 0 and book.balance("deferred", "2026-07-01") == 0


def test_cancellation_of_an_upfront_billed_annual_contract_with_a_credit_note():
    """Cancelled on 2026-07-01 with the unused half refunded (revised price 600): a credit note of -600 dated the
    cancellation, a -600 booking, revenue stops at 600, backlog and deferred revenue are 0 from that day."""
    book = load_book(contracts(["C2", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"]),
                     events(ev("C2", "a", "2026-07-01", "cancel", 600)))
    assert book.ok, book.problems
    assert sched(book, "revenue", "2026-01", "2026-12") == money(*[100] * 6, *[0] * 6)
    assert sched(book, "billings", "2026-01", "2026-12") == money(1200, *[0] * 5, -600, *[0] * 5)
    assert sched(book, "bookings", "2026-01", "2026-12") == money(1200, *[0] * 5, -600, *[0] * 5)
    assert book.balance("backlog", "2026-07-01") == 0
    assert book.balance("deferred", "2026-06-30") == D("600.00") and book.balance("deferred", "2026-07-01") == 0


def test_cancel_without_amount_on_monthly_billing_earns_what_was_billed():
    book = load_book(ANNUAL_2026, events(ev("C1", "a", "2026-04-16", "cancel")))
    assert book.ok
    # billed 400 (Jan-Apr in advance), recognized 300 + 15/30 of April = 350 by April 15 -> revised price 400
    assert sched(book, "revenue", "2026-01", "2026-12") == money(100, 100, 100, 100, *[0] * 8)
    assert sched(book, "billings", "2026-01", "2026-12") == money(100, 100, 100, 100, *[0] * 8)
    assert sched(book, "bookings", "2026-01", "2026-12") == money(1200, 0, 0, -800, *[0] * 8)


def test_a_modification_that_changes_nothing_changes_no_number():
    rows = contracts(["C1", "Acme", "a", "2025-12-15", "2026-01-10", "2027-03-07", 1000.01, "monthly", "quarterly"],
                     ["C1", "Acme", "b", "2025-12-15", "2026-01-10", "2026-11-03", 333.33, "daily", "monthly"])
    base = load_book(rows)
    same = load_book(rows, events(ev("C1", "a", "2026-05-17", "modify", 1000.01),
                                  ev("C1", "b", "2026-02-03", "modify", 333.33, "2026-11-03")))
    assert same.ok, same.problems
    for metric in ("revenue", "billings", "bookings", "backlog", "deferred", "unbilled"):
        assert sched(base, metric, "2025-12", "2027-04") == sched(same, metric, "2025-12", "2027-04"), metric


def test_several_events_apply_in_date_order_and_formulas_take_them():
    ev_rows = events(ev("C1", "a", "2026-10-01", "cancel"), ev("C1", "a", "2026-07-01", "modify", 1800))
    book = load_book(ANNUAL_2026, ev_rows)
    assert book.ok, book.problems
    # 600 by June, 200 a month July-September, then cancelled: billed 1,200 by September = recognized
    assert sched(book, "revenue", "2026-01", "2026-12") == money(*[100] * 6, 200, 200, 200, 0, 0, 0)
    assert BBB_REVENUE(ANNUAL_2026, "2026", None, None, ev_rows) == 1200.0
    assert BBB_BOOKINGS(ANNUAL_2026, "2026", None, None, ev_rows) == 1200.0  # 1200 + 600 - 600
    assert BBB_BACKLOG(ANNUAL_2026, "2026-09-30", None, ev_rows) == 600.0  # 1,800 booked - 1,200
    assert BBB_BACKLOG(ANNUAL_2026, "2026-10-01", None, ev_rows) == 0.0
    assert BBB_SCHEDULE(ANNUAL_2026, "revenue", "2026-07", "2026-07", None, None, None, ev_rows)[1][1] == 200.0


def test_allocated_contract_moves_the_allocated_amount_by_the_same_difference():
    head = HEADER + ["SSP"]
    rows = [head, ["C9", "Acme", "lic", None, "2026-01-01", "2026-12-31", 900, "monthly", "upfront", 600],
            ["C9", "Acme", "svc", None, "2026-01-01", "2026-12-31", 300, "monthly", "upfront", 600]]
    book = load_book(rows, events(ev("C9", "svc", "2026-07-01", "modify", 420)))
    assert book.ok, book.problems
    # ASC 606-10-25-13(a): the remaining 300 + 300 + the change 120 = 720 is reallocated over both remaining lines
    # by the SSP of what remains of each (600 x 6/12 each): 360 / 360, so 660 / 660 (tests/test_asc606_part3_...)
    assert list(book.final_allocated) == [66000, 66000]
    assert sched(book, "revenue", "2026-01", "2026-12", "year") == money(1320)
    assert sched(book, "backlog", "2026-12", "2026-12") == money(0)


@pytest.mark.parametrize("event, message, column", [
    # dated before the Start Date: an error only after the Booking Date (tests/test_inception_changes.py); on or
    # before it (here Booking Date = Start Date) it is part of the terms at inception
    (ev("C1", "a", "2027-01-01", "cancel"), "after the End Date 2026-12-31", "Date"),
    (ev("C1", "a", "2026-07-01", "modify", 1800, "2026-06-30"), "before the modification's Date", "End Date"),
    (ev("C1", "a", "2026-07-01", "modify", 1800, None, "retroactive"), "not one of prospective, catch-up",
     "Treatment"),
    (ev("C1", "a", "2026-07-01", "modify"), "a modify event needs an Amount", "Amount"),
])
def test_located_errors(event, message, column):
    book = load_book(ANNUAL_2026, events(event))
    errors = [p for p in book.errors if p.table == "events"]
    assert len(errors) == 1 and message in errors[0].message, book.problems
    assert errors[0].row == 2 and errors[0].column == column
    assert "C1" in book.parsed.excluded_contracts
    table = BBB_CHECK(ANNUAL_2026, events(event))
    assert table[1][0] == "Events 2" and message in table[1][4]


def test_an_event_after_a_cancellation_is_an_error():
    book = load_book(ANNUAL_2026, events(ev("C1", "a", "2026-03-01", "cancel"), ev("C1", "a", "2026-05-01",
                                                                                    "modify", 5)))
    assert any("was cancelled on 2026-03-01" in p.message and p.row == 3 for p in book.errors)


def test_multi_line_modify_without_line_id_is_an_error():
    rows = contracts(["C1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "milestone", "upfront"],
                     ["C1", "Acme", "b", None, "2026-01-01", "2026-12-31", 100, "monthly", "upfront"])
    # a modify of a milestone line is a change order (tests/test_asc606_part3_allocation.py, Example 8)
    assert load_book(rows, events(ev("C1", "a", "2026-03-01", "modify", 5))).ok
    assert any("needs a Line ID" in p.message
               for p in load_book(rows, events(ev("C1", None, "2026-03-01", "modify", 5))).errors)


def test_cancel_without_line_id_cancels_every_line():
    rows = contracts(["C1", "Acme", "a", None, "2026-01-01", "2026-12-31", 1200, "monthly", "monthly"],
                     ["C1", "Acme", "b", None, "2026-01-01", "2026-12-31", 2400, "daily", "monthly"])
    book = load_book(rows, events(ev("C1", None, "2026-07-01", "cancel")))
    assert book.ok, book.problems
    assert book.balance("backlog", "2026-07-01") == 0
    assert sched(book, "revenue", "2026-01", "2026-12", "year") == money(600 + 1200)
    assert len(book.events.changes.records) == 2
    assert np.all(book.final_amount == np.array([60000, 120000]))
