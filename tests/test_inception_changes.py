"""A modification or cancellation dated on or before the Booking Date is part of the terms at inception: no
contract existed yet to modify (ASC 606-10-25-10: a modification changes an approved contract; 25-9: terms agreed
at or near the same time are one contract). Whatever
its Treatment it applies from the line's Start Date, and what the new terms have earned by the Booking Date is
recognized on the Booking Date (revenue is never recognized before a contract exists, ASC 606-10-25-1)."""
from decimal import Decimal as D

import pytest

from bbb_xl import load_book

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
          "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "End Date", "Treatment"]
LB = [HEADER, ["LB", "X", "a", "2026-04-01", "2026-01-01", "2026-12-31", 1200, "monthly", "upfront"]]


def sched(book, metric, start="2026-01", end="2026-12"):
    return [D(x) for x in book.schedule_for(metric, start, end, "month").to_rows()[1][1:]]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


@pytest.mark.parametrize("date", ["2026-02-01", "2026-04-01"])
@pytest.mark.parametrize("treatment", [None, "prospective", "catch-up"])
def test_a_modification_before_booking_is_the_price_at_inception(date, treatment):
    """1,800 for 2026, booked 2026-04-01: January-April earned on the Booking Date (4 x 150 = 600), then 150 a
    month. Today (prospective from 2026-02-01) April shows 563.64."""
    book = load_book(LB, [EVENTS, ["LB", "a", date, "modify", 1800, None, treatment]])
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(0, 0, 0, 600, *[150] * 8)
    assert sched(book, "bookings") == money(0, 0, 0, 1800, *[0] * 8)
    assert sched(book, "billings") == money(0, 0, 0, 1800, *[0] * 8)  # the upfront invoice, on the Booking Date
    assert book.balance("backlog", "2026-04-30") == D("1200.00")
    assert book.balance("deferred", "2026-04-30") == D("1200.00")
    [change] = book.events.changes.records
    assert change.treatment == "inception"
    assert (change.booking, change.revenue, change.backlog) == (60000, 0, 60000)  # no catch-up of its own


def test_a_cancellation_before_booking_ends_the_line_from_its_start():
    """Cancelled on 2026-02-01 at a revised price of 300 (January and a day of service): 300 booked, billed and
    recognized on the Booking Date, nothing after."""
    book = load_book(LB, [EVENTS, ["LB", "a", "2026-02-01", "cancel", 300, None, None]])
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(0, 0, 0, 300, *[0] * 8)
    assert sched(book, "bookings") == money(0, 0, 0, 300, *[0] * 8)
    assert sched(book, "billings") == money(0, 0, 0, 300, *[0] * 8)
    assert book.events.changes.records[0].treatment == "inception"


def test_a_change_after_inception_builds_on_the_inception_price():
    """1,800 at inception, then 2,400 prospectively from 2026-07-01: 900 earned by June 30 (6 x 150), the other
    1,500 over July-December (250 a month), ASC 606-10-25-13(a)."""
    book = load_book(LB, [EVENTS, ["LB", "a", "2026-02-01", "modify", 1800, None, None],
                          ["LB", "a", "2026-07-01", "modify", 2400, None, "prospective"]])
    assert book.ok, book.problems
    assert sched(book, "revenue") == money(0, 0, 0, 600, 150, 150, *[250] * 6)
    assert sched(book, "bookings") == money(0, 0, 0, 1800, 0, 0, 600, *[0] * 5)
    assert [c.treatment for c in book.events.changes.records] == ["inception", "prospective"]


def test_a_change_before_start_is_accepted_after_the_booking_date_too():
    """Booked 2025-12-15 for 2026, modified to 1,800 on 2025-12-20, before service starts: the new terms apply from
    the Start Date (150 a month) and the 600 increase is booked on 2025-12-20 (issue 18 section 3)."""
    rows = [HEADER, ["E", "X", "a", "2025-12-15", "2026-01-01", "2026-12-31", 1200, "monthly", "monthly"]]
    early = load_book(rows, [EVENTS, ["E", "a", "2025-12-01", "modify", 1800, None, None]])
    assert early.ok, early.problems
    assert sched(early, "revenue") == money(*[150] * 12)
    assert sched(early, "bookings", "2025-12", "2026-01") == money(1800, 0)
    late = load_book(rows, [EVENTS, ["E", "a", "2025-12-20", "modify", 1800, None, None]])
    assert late.ok, late.problems
    assert sched(late, "revenue") == money(*[150] * 12)
    assert sched(late, "bookings", "2025-12", "2026-01") == money(1800, 0)
    assert late.balance("backlog", "2025-12-19") == D("1200.00")  # the modification is not known yet
    assert late.balance("backlog", "2025-12-20") == D("1800.00")
    assert late.events.changes.records[0].treatment == "before start"
